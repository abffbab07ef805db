"""The calendars shipped in calendars/: every event has its Democracy Club id and a source,
the dates are right, and the example register loads as `make run` loads it."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from purdah.calendars import CalendarKind, calendar, working_days_before
from purdah.clock import LONDON
from purdah.ical.reader import read_calendar
from purdah.ids import parse_election_id
from purdah.services.elections import list_elections
from purdah.services.importer import ImportOptions, import_sources
from tests.services.helpers import set_clock

CALENDARS = Path(__file__).parents[1] / "calendars"
NATIONAL = CALENDARS / "uk-scheduled-polls-2026-2031.ics"
NOW = datetime(2026, 1, 10, tzinfo=LONDON)


def occurrences(path: Path):
    return read_calendar(path.read_bytes(), path.name, date(2026, 1, 1), date(2031, 12, 31))


def test_every_event_has_a_valid_id_matching_its_date_and_a_source():
    result = occurrences(NATIONAL)
    assert result.problems == [] and len(result.occurrences) == 20
    for event in result.occurrences:
        election = parse_election_id(event.extra["X-DEMOCRACY-CLUB-ID"])
        assert election.poll_date == event.poll_date
        assert re.search(r"\bAct \d{4}\b|\bSI \d{4}/\d+", event.description), event.summary


def test_ordinary_polls_are_on_the_first_thursday_in_may():
    for event in occurrences(NATIONAL).occurrences:
        if event.extra["X-DEMOCRACY-CLUB-ID"].startswith("parl."):
            continue
        assert event.poll_date.month == 5 and event.poll_date.weekday() == 3
        assert event.poll_date.day <= 7


def test_latest_general_election_is_the_25th_working_day_after_9_july_2029():
    [parl] = [e for e in occurrences(NATIONAL).occurrences if e.uid.startswith("parl.")]
    assert parl.poll_date == date(2029, 8, 15)
    assert working_days_before(parl.poll_date, 25, calendar(CalendarKind.ANY_UK)) == date(
        2029, 7, 9
    )


def test_importing_the_national_calendar_takes_nationwide_polls_and_explains_group_ids(
    sqlite_store,
):
    report = import_sources(set_clock(sqlite_store, NOW), [str(NATIONAL)], ImportOptions())
    assert {p.election_id for p in report.elections} == {
        "sp.2026-05-07",
        "senedd.2026-05-07",
        "nia.2027-05-06",
        "gla.2028-05-04",
        "parl.2029-08-15",
        "sp.2031-05-01",
        "senedd.2030-05-02",
        "mayor.croydon.2026-05-07",
        "mayor.hackney.2026-05-07",
        "mayor.lewisham.2026-05-07",
        "mayor.newham.2026-05-07",
        "mayor.tower-hamlets.2026-05-07",
    }
    assert len(report.skipped) == 8
    assert all("is a group id" in reason for _, _, reason in report.skipped)


def test_example_register_loads_like_make_run(tmp_path):
    db = tmp_path / "run.db"
    purdah = str(Path(sys.executable).with_name("purdah"))
    subprocess.run([purdah, "init", "--db", str(db)], check=True, capture_output=True)
    load = [str(CALENDARS / "example" / "load"), purdah, str(db)]
    subprocess.run(["bash", *load], check=True, capture_output=True)
    subprocess.run(["bash", *load], check=True, capture_output=True)  # twice: harmless
    from purdah.store import open_store

    store = open_store(str(db))
    ids = {e.election_id for e in list_elections(store)}
    assert {"local.selston.2027-05-06", "pcc.nottinghamshire.2028-05-04", "parl.2029-08-15"} <= ids
    from purdah.services.windows import list_windows

    selston = {w.election_id for w in list_windows(store, "selston")}
    assert {
        "local.ashfield.2027-05-06",
        "local.selston.2027-05-06",
        "local.nottinghamshire.2029-05-03",
        "pcc.nottinghamshire.2028-05-04",
        "parl.2029-08-15",
    } <= selston


def by_id():
    return {e.extra["X-DEMOCRACY-CLUB-ID"]: e for e in occurrences(NATIONAL).occurrences}


def test_next_ordinary_senedd_election_is_2030_not_2031():
    # Senedd Cymru (Members and Elections) Act 2024: four-year terms from the 2026 Senedd
    # (https://www.legislation.gov.uk/asc/2024/4), so after 7 May 2026 comes Thu 2 May 2030.
    events = by_id()
    assert "senedd.2031-05-01" not in events
    senedd = events["senedd.2030-05-02"]
    assert senedd.poll_date == date(2030, 5, 2)
    assert "Senedd Cymru (Members and Elections) Act 2024" in senedd.description


def test_london_borough_mayors_of_7_may_2026_are_there():
    # Croydon, Hackney, Lewisham, Newham and Tower Hamlets elected their mayors on
    # 5 May 2022 for four years (Local Government Act 2000 Part 1A Chapter 5).
    events = by_id()
    for slug in ("croydon", "hackney", "lewisham", "newham", "tower-hamlets"):
        event = events[f"mayor.{slug}.2026-05-07"]
        assert event.poll_date == date(2026, 5, 7)
        assert "Local Government Act 2000" in event.description


def test_northern_ireland_council_elections_of_2027_are_there():
    # Electoral Law Act (Northern Ireland) 1962 s11(1)-(1A), as substituted by SI 2013/3156
    # art 3 (https://www.legislation.gov.uk/apni/1962/14/section/11): 2019 and every fourth
    # year, first Thursday in May; last held 18 May 2023.
    event = by_id()["local.2027-05-06"]
    assert "Northern Ireland" in event.summary
    assert "Electoral Law Act (Northern Ireland) 1962 s11" in event.description


def test_pcc_polls_of_2028_are_kept_with_the_announced_abolition_noted():
    event = by_id()["pcc.2028-05-04"]
    assert event.poll_date == date(2028, 5, 4)
    assert "13 November 2025" in event.description and "not yet law" in event.description
    assert "Police Reform and Social Responsibility Act 2011" in event.description
