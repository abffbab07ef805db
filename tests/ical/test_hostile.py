"""Hostile files under a memory cap: each is read by `purdah import` in a child process
whose address space is limited to 500 MB (resource.setrlimit(RLIMIT_AS)) and which must
finish within a timeout. Each must be refused (exit 1, one `Error:` line naming the file)
or read, never run away. bench/bench_hostile.py measures peak memory and time."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
MEMORY_CAP = 500 * 1024 * 1024
TIMEOUT = 120  # seconds; each file takes well under this (see bench/bench_hostile.py)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def purdah_capped(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "purdah", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_cap_memory,
        check=False,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "purdah.db"
    subprocess.run([sys.executable, "-m", "purdah", "init", "--db", str(path)], check=True)
    return path


def _ten_thousand_time_zones(tmp: Path) -> Path:
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Zone {n}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        "TZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    path = tmp / "ten_thousand_vtimezones.ics"
    body = "".join(zone.format(n=n) for n in range(10_000))
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}END:VCALENDAR\r\n")
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hostile_rrule_byhour_byminute_bysecond.ics", "times a day"),
        ("hostile_rrule_secondly.ics", "more often than daily"),
        ("hostile_rrule_byweekno_bysetpos.ics", "more than the limit of 1,000 for one series"),
        ("series_daily_without_end.ics", "more than the limit of 1,000 for one series"),
        ("nul_line_zero_filled_block.ics", "nothing but NUL bytes"),
        ("not_ical_zip_archive.ics", "this is a ZIP archive"),
        ("ten_thousand_vtimezones.ics", "more than 100 time zone definitions"),
    ],
)
def test_hostile_file_is_refused_under_the_memory_cap(db, tmp_path, name, expected):
    path = _ten_thousand_time_zones(tmp_path) if name.startswith("ten_") else DATA / name
    result = purdah_capped("import", str(path), "--area", "ashfield", "--type", "local", db=db)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {path}: ") and expected in line
    assert "\x00" not in result.stderr + result.stdout


def test_never_matching_rules_are_read_quickly_under_the_memory_cap(db):
    path = DATA / "hostile_rrule_never_matches_30_february.ics"
    result = purdah_capped(
        "import", str(path), "--area", "ashfield", "--nation", "ENG", "--dry-run", db=db
    )
    assert result.returncode == 0, result.stderr
    assert "50 warnings" in result.stdout.splitlines()[0]
