"""Published dates (issue 9, "Beyond fixing"): purdah's engine against what was published.

Each row of tests/data/published_dates.csv is one date that a returning officer, the
Electoral Commission, Parliament or a council published for one election, with the
address it was read at and a short quote of the sentence that states it. The test id
names the election, the kind of date and the source's host, so a failure says at once
which publication purdah disagrees with.

Kinds of row and what each asserts:

- ``latest_notice``: the statutory last day for the notice of election equals purdah's.
- ``earliest_notice``: the statutory first day (Scotland) equals purdah's.
- ``dissolution``: the dissolution date equals purdah's.
- ``actual_notice``: a notice actually published (or announced for a date) lies within
  the statutory range purdah computes: on or after its earliest notice (or, for a general
  election, on or after dissolution, since the writ follows it), on or before its latest;
  and the window purdah makes with that notice recorded starts no later than the notice.
- ``period_start``: a public body's published start of the pre-election period equals the
  start of purdah's default window.
- ``referendum_period_start`` / ``notice_of_referendum``: purdah's window for the
  referendum starts no later than the published date (the referendum period, and with it
  the publicity restriction, has begun by then).

The CSV also feeds issue 15's evidence: ``actual_notice`` rows before the statutory last
day measure how early councils publish (see ``run_up_gap``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from purdah.ids import Nation, parse_election_id
from purdah.timetable import Timetable, compute_timetable, window

CSV_PATH = Path(__file__).parent / "data" / "published_dates.csv"

COLUMNS = ["election_id", "nation", "kind", "date", "url", "quote", "note"]
KINDS = {
    "latest_notice",
    "earliest_notice",
    "dissolution",
    "actual_notice",
    "referendum_period_start",
    "notice_of_referendum",
    "period_start",
}
NATIONS = {"ENG", "WLS", "SCT", "NIR", "UK"}


@dataclass(frozen=True)
class Row:
    line: int
    election_id: str
    nation: str
    kind: str
    day: date
    url: str
    quote: str
    note: str

    @property
    def host(self) -> str:
        host = urlparse(self.url).hostname or "?"
        return host.removeprefix("www.")

    @property
    def test_id(self) -> str:
        return f"{self.election_id}:{self.kind}:{self.host}"


def _load() -> list[Row]:
    with CSV_PATH.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS, f"{CSV_PATH}: header is {reader.fieldnames}"
        return [
            Row(
                line=number,
                election_id=record["election_id"],
                nation=record["nation"],
                kind=record["kind"],
                day=date.fromisoformat(record["date"]),
                url=record["url"],
                quote=record["quote"],
                note=record["note"],
            )
            for number, record in enumerate(reader, start=2)
        ]


ROWS = _load()


def _rows(*kinds: str) -> list[object]:
    return [pytest.param(row, id=row.test_id) for row in ROWS if row.kind in kinds]


def _timetable(row: Row) -> Timetable:
    nation = None if row.nation == "UK" else Nation(row.nation)
    return compute_timetable(parse_election_id(row.election_id), nation)


def _where(row: Row) -> str:
    return f"{CSV_PATH.name} line {row.line}: {row.url} says {row.quote!r}"


def working_days_between(tt: Timetable, start: date, end: date) -> int:
    """Working days d, in the election's own calendar, with start < d <= end."""
    assert tt.calendar is not None
    return sum(
        tt.calendar.is_working_day(start + timedelta(days=i))
        for i in range(1, (end - start).days + 1)
    )


def run_up_gap(row: Row) -> int | None:
    """How many working days before purdah's statutory last day an actual notice came."""
    tt = _timetable(row)
    if row.kind != "actual_notice" or tt.notice_latest is None or row.day >= tt.notice_latest:
        return None
    return working_days_between(tt, row.day, tt.notice_latest)


# The file itself


def test_the_file_has_at_least_60_sourced_rows_across_every_type_and_nation():
    assert len(ROWS) >= 60
    types = {parse_election_id(row.election_id).type for row in ROWS}
    assert {"local", "parl", "gla", "mayor", "pcc", "sp", "nia", "ref"} <= types
    assert {row.nation for row in ROWS} == NATIONS
    by_elections = {
        row.election_id for row in ROWS if parse_election_id(row.election_id).by_election
    }
    assert any(eid.startswith("parl.") for eid in by_elections)
    assert any(eid.startswith("local.") for eid in by_elections)


@pytest.mark.parametrize("row", [pytest.param(row, id=row.test_id) for row in ROWS])
def test_every_row_names_its_source_and_quotes_it(row):
    assert row.kind in KINDS, f"line {row.line}: unknown kind {row.kind!r}"
    assert row.nation in NATIONS, f"line {row.line}: unknown nation {row.nation!r}"
    assert urlparse(row.url).scheme in ("http", "https") and row.host != "?", row.url
    words = row.quote.split()
    assert 3 <= len(words) <= 30, f"line {row.line}: quote must be short and present"
    poll = parse_election_id(row.election_id).poll_date
    assert row.day < poll, f"line {row.line}: {row.day} is not before polling day {poll}"


# The engine against the publications


@pytest.mark.parametrize("row", _rows("latest_notice"))
def test_latest_notice_matches_the_publication(row):
    assert _timetable(row).notice_latest == row.day, _where(row)


@pytest.mark.parametrize("row", _rows("earliest_notice"))
def test_earliest_notice_matches_the_publication(row):
    assert _timetable(row).notice_earliest == row.day, _where(row)


@pytest.mark.parametrize("row", _rows("dissolution"))
def test_dissolution_matches_the_publication(row):
    assert _timetable(row).dissolution == row.day, _where(row)


@pytest.mark.parametrize("row", _rows("actual_notice"))
def test_published_notice_lies_in_the_statutory_range(row):
    tt = _timetable(row)
    earliest = tt.notice_earliest or tt.dissolution
    assert tt.notice_latest is not None, f"{row.election_id}: purdah has no latest notice"
    assert row.day <= tt.notice_latest, (
        f"published {row.day}, purdah's statutory latest {tt.notice_latest}: {_where(row)}"
    )
    if earliest is not None:
        assert row.day >= earliest, (
            f"published {row.day}, purdah's statutory earliest {earliest}: {_where(row)}"
        )
    recorded = window(tt, actual_notice=row.day)
    assert recorded.start.date() <= row.day, _where(row)


@pytest.mark.parametrize("row", _rows("period_start"))
def test_default_window_starts_on_the_published_period_start(row):
    assert window(_timetable(row)).start.date() == row.day, _where(row)


@pytest.mark.parametrize("row", _rows("referendum_period_start", "notice_of_referendum"))
def test_referendum_window_has_begun_by_the_published_date(row):
    start = window(_timetable(row)).start.date()
    assert start <= row.day, f"purdah starts {start}, after {row.day}: {_where(row)}"


# Issue 15's evidence: how early notices come


def test_run_up_gaps_are_measured_in_the_elections_own_working_days():
    # Cardiff, Fri 18 March 2022, for a last day of Mon 28 March: six working days
    # (21-25 and 28 March).
    cardiff = next(row for row in ROWS if row.election_id == "local.cardiff.2022-05-05")
    assert run_up_gap(cardiff) == 6
    # The West Midlands combined authority, Thu 21 March 2024, for Tue 26 March: three.
    wmca = next(row for row in ROWS if row.election_id == "mayor.west-midlands.2024-05-02")
    assert run_up_gap(wmca) == 3
    # A notice on the last day itself is no run-up.
    on_time = next(row for row in ROWS if row.election_id == "gla.a.2021-05-06")
    assert run_up_gap(on_time) is None
