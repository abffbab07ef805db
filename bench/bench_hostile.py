"""Hostile import files: peak memory (RSS) and wall time of `purdah import` on each, in a
child process capped at 500 MB of address space (as tests/ical/test_hostile.py does).

    .venv/bin/python bench/bench_hostile.py          # prints one row per file

Besides the fixtures in tests/data/, it generates the largest files the reader's limits
let through to the parser (just under 500,000 lines or 50,000 events), since those, not
the small hostile rules, set the memory ceiling.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
DATA = ROOT / "tests" / "data"
CAP = 500 * 1024 * 1024
FIXTURES = (
    "hostile_rrule_byhour_byminute_bysecond.ics",
    "hostile_rrule_secondly.ics",
    "hostile_rrule_byweekno_bysetpos.ics",
    "hostile_rrule_never_matches_30_february.ics",
    "series_daily_without_end.ics",
    "nul_line_zero_filled_block.ics",
)


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def _calendar(path: Path, events: list[str]) -> Path:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
    path.write_text(head + "".join(events) + "END:VCALENDAR\r\n")
    return path


def generated(tmp: Path) -> list[Path]:
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Zone {n}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        "TZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    plain = (
        "BEGIN:VEVENT\r\nUID:e{n}\r\nDTSTAMP:20261101T120000Z\r\nDTSTART;VALUE=DATE:2027{m:02d}01"
        "\r\nSUMMARY:Committee meeting {n}\r\nDESCRIPTION:Agenda\r\nLOCATION:Hall\r\n"
        "STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n"
    )
    series = (
        "BEGIN:VEVENT\r\nUID:s{n}\r\nDTSTART;VALUE=DATE:20200106\r\nRRULE:FREQ=WEEKLY;COUNT=2"
        "\r\nSUMMARY:Old meeting\r\nEND:VEVENT\r\n"
    )
    return [
        _calendar(tmp / "ten_thousand_vtimezones.ics", [zone.format(n=n) for n in range(10_000)]),
        _calendar(
            tmp / "max_lines_49000_events.ics",
            [plain.format(n=n, m=n % 12 + 1) for n in range(49_000)],
        ),
        _calendar(
            tmp / "max_events_49000_old_series.ics", [series.format(n=n) for n in range(49_000)]
        ),
    ]


def measure(path: Path, db: Path) -> tuple[int, float, int, str]:
    started = time.monotonic()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "purdah",
            "import",
            str(path),
            "--area",
            "ashfield",
            "--type",
            "local",
            "--nation",
            "ENG",
            "--dry-run",
            "--db",
            str(db),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_cap,
    )
    assert child.stderr is not None
    error = child.stderr.read().decode("utf-8", "replace").strip().splitlines()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss // 1024, (error or [""])[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        db = tmp / "bench.db"
        subprocess.run(
            [sys.executable, "-m", "purdah", "init", "--db", str(db)],
            check=True,
            capture_output=True,
        )
        print(
            "| file | bytes | exit | seconds | peak RSS MB | message |\n|---|---|---|---|---|---|"
        )
        for path in [DATA / f for f in FIXTURES] + generated(tmp):
            code, seconds, peak, message = measure(path, db)
            short = message.replace(str(path), "FILE")[:90]
            size = path.stat().st_size
            print(f"| {path.name} | {size:,} | {code} | {seconds:.1f} | {peak} | {short} |")


if __name__ == "__main__":
    main()
