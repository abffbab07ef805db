"""Import of a 20,000-event feed: wall time and peak memory, as ratios to icalendar's own
parse of the same bytes measured in the same run (target: under 1.5x).

Each measurement runs in a fresh process (peak RSS is per process), three times; the
median is reported.

    make bench            # or: .venv/bin/python bench/bench_import.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
path, mode, db = sys.argv[1], sys.argv[2], sys.argv[3]
data = Path(path).read_bytes()
if mode == "icalendar":
    import icalendar
    t0 = time.perf_counter()
    icalendar.Calendar.from_ical(data, multiple=True)
else:
    from datetime import datetime
    from purdah.clock import LONDON
    from purdah.services.importer import ImportOptions, import_sources
    from purdah.store import open_store
    now = datetime(2026, 11, 21, 9, tzinfo=LONDON)
    store = open_store(db, clock=lambda: now)  # made by the parent: this process only imports
    t0 = time.perf_counter()
    report = import_sources(store, [path], ImportOptions(council="bigtown"))
    assert len(report.elections) > 0
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def make_feed(path: Path, events: int) -> None:
    """A big council calendar: meetings with long descriptions, and a poll every ~100."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "X-WR-TIMEZONE:Europe/London"]
    first = date(2026, 1, 5)
    text = (
        "Agenda: apologies, declarations of interest, minutes of the last meeting, "
        "public questions, planning applications, finance report, correspondence. "
    ) * 2
    for i in range(events):
        day = first + timedelta(days=i % 2000)
        summary = "Town council election" if i % 100 == 0 else f"Committee meeting {i}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:bench-{i}@example.org",
            "DTSTAMP:20261101T120000Z",
            f"DTSTART:{day:%Y%m%d}T180000Z",
            f"DTEND:{day:%Y%m%d}T200000Z",
            f"SUMMARY:{summary}",
            f"DESCRIPTION:{text}",
            "LOCATION:Town Hall",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def measure(path: Path, mode: str, tmp: Path, runs: int = 3) -> tuple[float, float]:
    seconds, peaks = [], []
    purdah = str(Path(sys.executable).with_name("purdah"))
    for run in range(runs):
        db = tmp / f"{mode}-{run}.db"
        if mode == "purdah":
            subprocess.run([purdah, "init", "--db", str(db)], check=True, capture_output=True)
            subprocess.run(
                [
                    purdah,
                    "council",
                    "add",
                    "bigtown",
                    "--name",
                    "Big Town Council",
                    "--nation",
                    "ENG",
                    "--kind",
                    "town",
                    "--db",
                    str(db),
                ],
                check=True,
                capture_output=True,
            )
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), mode, str(db)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        seconds.append(result["seconds"])
        peaks.append(result["peak_kb"])
    return statistics.median(seconds), statistics.median(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-import-"))
    feed = tmp / "big.ics"
    make_feed(feed, args.events)
    size = feed.stat().st_size
    base_s, base_kb = measure(feed, "icalendar", tmp)
    ours_s, ours_kb = measure(feed, "purdah", tmp)
    print(f"\nfeed: {args.events:,} events, {size / 1e6:.1f} MB; median of 3 fresh processes\n")
    print("| measure | icalendar parse (baseline) | purdah import | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| wall time | {base_s:.2f} s | {ours_s:.2f} s | {ours_s / base_s:.2f}x | < 1.5x |")
    print(
        f"| peak memory (RSS) | {base_kb / 1024:.0f} MB | {ours_kb / 1024:.0f} MB | "
        f"{ours_kb / base_kb:.2f}x | < 1.5x |"
    )
    print(
        "\nEach process's peak includes its imports: icalendar alone, or purdah's store stack "
        "(SQLAlchemy, SQLModel, holidays ...), a fixed cost whatever the feed's size."
    )


if __name__ == "__main__":
    main()
