"""`make bench`'s harness (bench/run.py), kept from rotting: it finds the benches by
their convention, runs each in a capped child process, collects their rows and says what
failed; and the HTTP bench runs through it at a tiny scale."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import tempfile
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


GOOD = """
import argparse
from common import Row, emit

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--councillors", type=int, required=True)
    parser.add_argument("--pg")
    args = parser.parse_args()
    store = "postgresql" if args.pg else "sqlite"
    if args.pg:
        import psycopg
        with psycopg.connect(args.pg.replace("+psycopg", "")) as conn:
            conn.execute("SELECT 1")
    n = args.councillors
    emit([Row("fake: scales", store, n, n * 1e-6, n * 1e-6 / 2, "half", 3.0, 12.0),
          Row("fake: misses", store, n, 2.0, 1.0, "one", 1.5)]
         + ([Row("fake: scales", store, 10, 1.0, 1.0, "a reference again")] if n != 10 else []))

main()
"""
CRASH = """
import argparse
from common import emit
def main():
    argparse.ArgumentParser().add_argument("--councillors")
    raise SystemExit("fake bench failed on purpose")
    emit([])
main()
"""
HOG = """
import argparse
from common import emit
def main():
    argparse.ArgumentParser().add_argument("--councillors")
    blob = bytearray(2_000_000_000)
    emit([])
main()
"""
LEGACY = "def main():\n    print('no rows')\n"


@pytest.fixture
def benches(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    for name, text in (
        ("bench_good.py", GOOD),
        ("bench_crash.py", CRASH),
        ("bench_hog.py", HOG),
        ("bench_legacy.py", LEGACY),
        ("helper.py", LEGACY),
    ):
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_discovery_follows_the_convention(benches: Path) -> None:
    found, other = _harness().discover(benches)
    assert [(b.name, b.takes_pg) for b in found] == [
        ("bench_crash", False),
        ("bench_good", True),
        ("bench_hog", False),
    ]
    assert other == ["bench_legacy.py"]


def test_the_real_benches_that_report_rows_are_found() -> None:
    found, _other = _harness().discover(BENCH)
    assert "bench_http" in {b.name for b in found}


def test_one_table_the_curve_and_every_failure_said(
    benches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the logs it keeps on failure
    out = tmp_path / "RESULTS.md"
    code = _harness().main(
        [
            *("--bench-dir", str(benches), "--scales", "10,1k", "--no-pg", "--quiet"),
            *("--mem-mb", "600", "--out", str(out)),
        ]
    )
    text = out.read_text()
    assert code == 1  # two benches failed, so the run did
    assert f"Python {platform.python_version()}" in text
    assert "commit " in text and "cores" in text
    assert "PostgreSQL not measured: not asked for (--no-pg)" in text
    assert "| fake: scales | sqlite | 10 | 10.0 us | half: 5.0 us | 2.00x | <= 3x | met |" in text
    assert "| fake: misses | sqlite | 1,000 | 2.00 s | one: 1.00 s | 2.00x | <= 1.5x |" in text
    assert "missed by 1.33x" in text
    # The curve: per-councillor time, ratio and peak memory by scale.
    assert (
        "| fake: scales | sqlite | 10.0 us = 1.0 us/c (2.00x, 12 MB) | "
        "1.00 ms = 1.0 us/c (2.00x, 12 MB) |" in text
    )
    assert "bench_crash on sqlite at 10: failed (exit 1): fake bench failed on purpose" in text
    assert "bench_hog on sqlite at 1,000: failed (exit 1, memory cap 600 MB)" in text
    assert "not in this harness (no `--councillors` or no `common.emit`): bench_legacy.py" in text
    # The reference the 1,000 run measured again at 10 is left out, and said.
    assert "a reference again" not in text
    assert (
        "bench_good on sqlite at 1,000 also reported 1 rows at other sizes (references it "
        "measures again), left out" in text
    )
    kept = list(tmp_path.glob("purdah-bench-run-*/bench_crash-sqlite-10.log"))
    assert kept and "failed on purpose" in kept[0].read_text()


def test_a_bench_that_declares_its_largest_size_is_not_run_beyond_it_and_says_so(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "bench"
    folder.mkdir()
    small = textwrap.dedent(GOOD).replace("\ndef main", "\nMOST_COUNCILLORS = 100\n\ndef main")
    (folder / "bench_small.py").write_text(small)
    out = tmp_path / "RESULTS.md"
    code = _harness().main(
        ["--bench-dir", str(folder), "--scales", "10,1k", "--no-pg", "--quiet", "--out", str(out)]
    )
    text = out.read_text()
    assert code == 0  # not run is not a failure
    assert "| fake: scales | sqlite | 10 |" in text
    assert "| fake: scales | sqlite | 1,000 |" not in text
    assert (
        "bench_small on sqlite at 1,000: not run: the bench runs at most 100 councillors "
        "(MOST_COUNCILLORS in bench_small.py says why)" in text
    )


def test_bad_scales_are_refused() -> None:
    harness = _harness()
    assert harness.parse_scales("1000, 10k,1m,2.5k") == [1000, 10_000, 1_000_000, 2500]
    with pytest.raises(SystemExit, match="not a number of councillors"):
        harness.parse_scales("ten")


@pytest.mark.skipif(not os.environ.get("PURDAH_TEST_PG_URL"), reason="no PostgreSQL server")
def test_postgresql_runs_get_a_fresh_database(benches: Path, tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    (benches / "bench_crash.py").unlink()
    (benches / "bench_hog.py").unlink()
    code = _harness().main(
        [
            *("--bench-dir", str(benches), "--scales", "10", "--quiet", "--out", str(out)),
            *("--pg", os.environ["PURDAH_TEST_PG_URL"]),
        ]
    )
    text = out.read_text()
    assert code == 0, text
    assert "| fake: scales | postgresql | 10 |" in text
    assert "| fake: scales | sqlite | 10 |" in text


def test_the_http_bench_through_the_harness(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    code = _harness().main(
        [
            *("--only", "bench_http", "--scales", "100", "--no-pg", "--quick", "--quiet"),
            *("--out", str(out), "--timeout", "300"),
        ]
    )
    text = out.read_text()
    assert code == 0, text
    for path in ("HTTP /api/check, token", "HTTP feed 200", "HTTP feed 304"):
        assert f"| {path} | sqlite | 100 |" in text
