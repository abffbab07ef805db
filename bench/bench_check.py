"""`check` in process, this version against a given older one, on the same store in the
same run (so the ratio is comparable on a shared machine).

    .venv/bin/python bench/bench_check.py OLD_CHECK.py [--councils N]
    # e.g. git show main:purdah/services/check.py > /tmp/old_check.py
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_store import build

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.services.check import check
from purdah.store import open_store


def per_call(fn, n: int) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("--councils", type=int, default=1000)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("old_check", args.old)
    assert spec and spec.loader
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_check"] = old
    spec.loader.exec_module(old)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        build(db, args.councils, 10)
        store = open_store(str(db))
        refs = [f"parish-{i}/c{i % 10}" for i in range(900)]
        for label, at in (
            ("in a window", datetime(2028, 3, 27, 12, tzinfo=LONDON)),
            ("outside", datetime(2026, 11, 1, 12, tzinfo=LONDON)),
        ):
            before = per_call(
                lambda i, at=at: old.check(store, refs[i % 900], Action.PROMOTE, at), 500
            )
            after = per_call(lambda i, at=at: check(store, refs[i % 900], Action.PROMOTE, at), 500)
            print(
                f"check {label}: before {before * 1e6:.0f} us, after {after * 1e6:.0f} us, "
                f"ratio {after / before:.2f}"
            )


if __name__ == "__main__":
    main()
