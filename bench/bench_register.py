"""The area register from the command line: `purdah council find` and `purdah council add
--gss`, whole processes, as ratios to `purdah --help` timed in the same run (the cost of
starting Python and purdah). Also the shipped table's size and its load time in-process.

Each command runs five times in a fresh process; the median is reported.

    .venv/bin/python bench/bench_register.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURDAH = [sys.executable, "-m", "purdah"]


def timed(args: list[str], env: dict[str, str], runs: int = 5, setup=None) -> float:
    times = []
    for _ in range(runs):
        if setup:
            setup()
        t0 = time.perf_counter()
        subprocess.run([*PURDAH, *args], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        env = {**os.environ, "PURDAH_DB": db}
        subprocess.run([*PURDAH, "init"], check=True, capture_output=True, env=env)
        baseline = timed(["--help"], env)
        find_name = timed(["council", "find", "selston"], env)
        find_code = timed(["council", "find", "E04007786", "--json"], env)

        def fresh() -> None:
            Path(db).unlink(missing_ok=True)
            subprocess.run([*PURDAH, "init"], check=True, capture_output=True, env=env)

        add = timed(["council", "add", "--gss", "E04007786"], env, setup=fresh)
        by_hand = timed(
            ["council", "add", "selston", "--name", "Selston Parish Council", "--nation", "ENG",
             "--kind", "parish", "--within", "ashfield", "--within", "nottinghamshire"],
            env,
            setup=fresh,
        )  # fmt: skip
    sys.path.insert(0, str(ROOT))
    from purdah.sources import areas

    t0 = time.perf_counter()
    areas.shipped()
    load = time.perf_counter() - t0
    table = ROOT / "purdah" / "data" / "areas.csv.gz"
    result = {
        "baseline_help_s": round(baseline, 3),
        "council_find_name_ratio": round(find_name / baseline, 2),
        "council_find_code_json_ratio": round(find_code / baseline, 2),
        "council_add_gss_ratio": round(add / baseline, 2),
        "council_add_by_hand_ratio": round(by_hand / baseline, 2),
        "load_table_in_process_s": round(load, 3),
        "shipped_table_bytes": table.stat().st_size,
        "sources_bytes": sum(p.stat().st_size for p in (ROOT / "data" / "sources").glob("*.csv")),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
