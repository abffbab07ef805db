"""The restricted-period feeds: stable bytes, and the same events in four parsers
(icalendar, ical (strict), vobject, and ical.js, the parser inside Thunderbird)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from purdah.clock import LONDON
from purdah.ical.writer import london_vtimezone
from purdah.services.elections import add_election, set_notice
from purdah.services.export import council_feed, councillor_feed
from tests.services.helpers import SETUP, nottinghamshire, set_clock

JS = Path(__file__).parents[1] / "js"

# (uid, start, end) of Selston's periods for these polls, in UTC.
EXPECTED = [
    (
        "purdah-selston-w",
        datetime(2027, 3, 30, 23, tzinfo=UTC),
        datetime(2027, 5, 6, 21, tzinfo=UTC),
    ),
    (
        "purdah-selston-w",
        datetime(2028, 3, 26, 23, tzinfo=UTC),
        datetime(2028, 5, 4, 21, tzinfo=UTC),
    ),
    (
        "purdah-selston-w",
        datetime(2029, 7, 8, 23, tzinfo=UTC),
        datetime(2029, 8, 15, 21, tzinfo=UTC),
    ),
]


@pytest.fixture
def selston(sqlite_store):
    nottinghamshire(sqlite_store)
    for election_id, nation in (
        ("local.ashfield.2027-05-06", "ENG"),
        ("local.selston.2027-05-06", "ENG"),
        ("pcc.nottinghamshire.2028-05-04", None),
        ("parl.2029-08-15", None),
    ):
        add_election(set_clock(sqlite_store, SETUP), election_id, nation=nation)
    return sqlite_store


def events_icalendar(body: bytes) -> list[tuple[str, datetime, datetime]]:
    import icalendar

    cal = icalendar.Calendar.from_ical(body)
    return [
        (str(e["UID"]), e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
        for e in cal.walk("VEVENT")
    ]


def check(found: list[tuple[str, datetime, datetime]], prefix: str = "purdah-selston-w") -> None:
    assert len(found) == len(EXPECTED)
    for (uid, start, end), (_, want_start, want_end) in zip(found, EXPECTED, strict=True):
        assert uid.startswith(prefix) and uid.endswith("@purdah")
        assert (start, end) == (want_start, want_end)


def test_the_district_and_parish_polls_merge_into_one_period(selston):
    import icalendar

    body = council_feed(selston, "selston").body
    check(events_icalendar(body))
    first = next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))
    assert str(first["SUMMARY"]) == (
        "Pre-election period: Ashfield District Council and Selston Parish Council elections, "
        "6 May 2027"
    )


def test_strict_parser_ical(selston):
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(council_feed(selston, "selston").body.decode())
    check([(e.uid, e.dtstart.astimezone(UTC), e.dtend.astimezone(UTC)) for e in cal.events])


def test_vobject(selston):
    import vobject

    cal = vobject.readOne(council_feed(selston, "selston").body.decode())
    check(
        [
            (e.uid.value, e.dtstart.value.astimezone(UTC), e.dtend.value.astimezone(UTC))
            for e in cal.vevent_list
        ]
    )


def test_ical_js_the_parser_inside_thunderbird(selston, tmp_path):
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js").exists():
        pytest.skip("ical.js not installed: run `npm install --prefix tests/js` (.ci/run does)")
    path = tmp_path / "selston.ics"
    path.write_bytes(council_feed(selston, "selston").body)
    out = subprocess.run(
        [node, str(JS / "parse.mjs"), str(path)], check=True, capture_output=True, text=True
    ).stdout
    data = json.loads(out)
    assert data["name"] == "Pre-election periods: Selston Parish Council"
    check(
        [
            (
                e["uid"],
                datetime.fromisoformat(e["start"].replace("Z", "+00:00")),
                datetime.fromisoformat(e["end"].replace("Z", "+00:00")),
            )
            for e in data["events"]
        ]
    )


def test_subscription_properties(selston):
    body = council_feed(selston, "selston").body.decode()
    for line in (
        "METHOD:PUBLISH",
        "CALSCALE:GREGORIAN",
        "REFRESH-INTERVAL;VALUE=DURATION:PT12H",
        "X-PUBLISHED-TTL:PT12H",
        "NAME:Pre-election periods: Selston Parish Council",
        "X-WR-CALNAME:Pre-election periods: Selston Parish Council",
        "TRANSP:TRANSPARENT",
        "TZID:Europe/London",
    ):
        assert f"\r\n{line}\r\n" in body, line
    assert "COMMENT" not in body
    assert body.index("BEGIN:VTIMEZONE") < body.index("BEGIN:VEVENT")


def test_two_exports_of_unchanged_data_are_byte_identical(selston):
    first, second = council_feed(selston, "selston"), council_feed(selston, "selston")
    assert first.body == second.body and first.etag == second.etag


def test_sequence_and_last_modified_change_only_for_the_changed_period(selston):
    import icalendar

    def by_summary(body: bytes) -> dict[str, tuple[int, datetime]]:
        cal = icalendar.Calendar.from_ical(body)
        return {
            str(e["SUMMARY"]): (int(e["SEQUENCE"]), e["LAST-MODIFIED"].dt)
            for e in cal.walk("VEVENT")
        }

    before = by_summary(council_feed(selston, "selston").body)
    later = SETUP + timedelta(days=3)
    set_notice(set_clock(selston, later), "pcc.nottinghamshire.2028-05-04", date(2028, 3, 20))
    after = by_summary(council_feed(selston, "selston").body)
    pcc = "Pre-election period: Nottinghamshire Police and Crime Commissioner election, 4 May 2028"
    assert after[pcc][0] > before[pcc][0] and after[pcc][1] == later.astimezone(UTC)
    assert {k: v for k, v in after.items() if k != pcc} == {
        k: v for k, v in before.items() if k != pcc
    }


def test_councillor_feed_follows_ward_scope(sqlite_store):
    nottinghamshire(sqlite_store, parish_scope="ward")
    add_election(
        set_clock(sqlite_store, SETUP), "local.selston.underwood.by.2026-06-18", nation="ENG"
    )
    jane = councillor_feed(sqlite_store, "selston/jane-doe").body  # ward Underwood
    sam = councillor_feed(sqlite_store, "selston/sam-roe").body  # ward Selston
    assert b"BEGIN:VEVENT" in jane and b"BEGIN:VEVENT" not in sam


def test_london_vtimezone_rules_agree_with_zoneinfo_2000_to_2060():
    from dateutil.rrule import rrulestr

    tz = london_vtimezone()
    for part in tz.subcomponents:
        start = part["DTSTART"].dt
        rule = rrulestr(part["RRULE"].to_ical().decode(), dtstart=start)
        offset_to = part["TZOFFSETTO"].td
        span = (datetime(2000, 1, 1), datetime(2061, 1, 1))  # noqa: DTZ001 (local wall times)
        for local in rule.between(*span):
            # The local wall time of the change, in the offset it changes from, is an
            # instant; zoneinfo must switch to the new offset exactly there.
            instant = (local - part["TZOFFSETFROM"].td).replace(tzinfo=UTC)
            assert instant.astimezone(LONDON).utcoffset() == offset_to, local
            before = (instant - timedelta(seconds=1)).astimezone(LONDON).utcoffset()
            assert before == part["TZOFFSETFROM"].td, local


def test_feeds_on_both_stores(store):
    nottinghamshire(store)
    for election_id, nation in (
        ("local.ashfield.2027-05-06", "ENG"),
        ("local.selston.2027-05-06", "ENG"),
        ("pcc.nottinghamshire.2028-05-04", None),
        ("parl.2029-08-15", None),
    ):
        add_election(set_clock(store, SETUP), election_id, nation=nation)
    check(events_icalendar(council_feed(store, "selston").body))
    check(
        events_icalendar(councillor_feed(store, "selston/jane-doe").body),
        prefix="purdah-selston-jane-doe-w",
    )
    assert council_feed(store, "selston").last_modified == SETUP.astimezone(UTC)


# --- the councillor's view: titles, ids, cancelled periods (issue 13) -----------------------


def vevents(body: bytes) -> dict[str, dict[str, str]]:
    """Each event's UID -> its SUMMARY, STATUS, SEQUENCE and DESCRIPTION, as strings."""
    import icalendar

    return {
        str(e["UID"]): {
            "summary": str(e["SUMMARY"]),
            "status": str(e["STATUS"]),
            "sequence": str(e["SEQUENCE"]),
            "description": str(e["DESCRIPTION"]),
            "dtstamp": e["DTSTAMP"].dt.isoformat(),
        }
        for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
    }


def test_titles_name_the_council_and_the_election_in_plain_words(sqlite_store):
    from purdah.services.register import add_council

    nottinghamshire(sqlite_store)
    add_council(
        set_clock(sqlite_store, SETUP),
        "runcorn",
        name="Runcorn Town Council",
        nation="ENG",
        kind="town",
    )
    add_election(set_clock(sqlite_store, SETUP), "local.ashfield.2027-05-06", nation="ENG")
    add_election(set_clock(sqlite_store, SETUP), "pcc.nottinghamshire.2028-05-04")
    titles = sorted(
        e["summary"] for e in vevents(council_feed(sqlite_store, "ashfield").body).values()
    )
    assert titles == [
        "Pre-election period: Ashfield District Council election, 6 May 2027",
        "Pre-election period: Nottinghamshire Police and Crime Commissioner election, 4 May 2028",
    ]
    description = next(
        e["description"]
        for e in vevents(council_feed(sqlite_store, "ashfield").body).values()
        if "Ashfield" in e["summary"]
    )
    assert (
        "- Ashfield District Council election, polling day Thursday 6 May 2027 (election id "
        "local.ashfield.2027-05-06): Wed 31 Mar 2027 00:00 BST to Thu 06 May 2027 22:00 BST."
    ) in description
    assert "Rule: " in description and "para 34" in description


def test_title_of_several_polling_days_and_of_many_elections():
    from purdah.ical.writer import election_name, title

    assert election_name("parl.runcorn-and-helsby.by.2025-05-01") == (
        "UK Parliament by-election (Runcorn and Helsby)"
    )
    assert election_name("local.selston.underwood.by.2026-06-18", "Selston Parish Council") == (
        "Selston Parish Council by-election (Underwood)"
    )
    assert election_name("mayor.greater-manchester-ca.2028-05-04") == (
        "Greater Manchester Combined Authority mayoral election"
    )
    assert title(
        [
            ("UK Parliament general election", date(2029, 8, 15)),
            ("Ashfield District Council election", date(2029, 8, 2)),
        ]
    ) == (
        "Pre-election period: Ashfield District Council election, 2 August 2029; "
        "UK Parliament general election, 15 August 2029"
    )
    many = [(f"Council {n} election", date(2027, 5, 6)) for n in "ABCDEF"]
    assert title(many) == (
        "Pre-election period: Council A, Council B, Council C and Council D elections, "
        "6 May 2027 (and 2 more)"
    )


def test_a_poll_cancelled_before_its_period_is_published_cancelled_then_left_out(selston):
    """The period does not vanish: the same UID comes back STATUS:CANCELLED with a higher
    SEQUENCE and the reason, for 30 days or until the period's end, whichever is later."""
    from purdah.services.elections import cancel_election

    before = vevents(council_feed(selston, "selston").body)
    (uid,) = [u for u, e in before.items() if "Police and Crime" in e["summary"]]
    cancelled_at = SETUP + timedelta(days=10)
    cancel_election(set_clock(selston, cancelled_at), "pcc.nottinghamshire.2028-05-04")
    after = vevents(council_feed(selston, "selston", now=cancelled_at).body)
    assert set(after) == set(before)
    event = after[uid]
    assert event["status"] == "CANCELLED"
    assert int(event["sequence"]) > int(before[uid]["sequence"])
    assert event["summary"] == (
        "Cancelled: Pre-election period: Nottinghamshire Police and Crime Commissioner "
        "election, 4 May 2028"
    )
    assert (
        "because the poll was cancelled on 15 January 2026, before the period began"
        in (event["description"])
    )
    assert "election id pcc.nottinghamshire.2028-05-04" in event["description"]
    assert event["dtstamp"] == cancelled_at.astimezone(UTC).isoformat()
    for other in set(before) - {uid}:
        assert after[other]["status"] == "CONFIRMED"
    # Until the period's original end (later than 30 days after the cancellation) ...
    end = datetime(2028, 5, 4, 21, tzinfo=UTC)
    just_before = council_feed(selston, "selston", now=end - timedelta(seconds=1))
    assert vevents(just_before.body)[uid]["status"] == "CANCELLED"
    # ... then left out, and the feed's Last-Modified moves to that moment.
    gone = council_feed(selston, "selston", now=end)
    assert uid not in vevents(gone.body)
    assert gone.last_modified == end and gone.etag != just_before.etag


def test_a_removed_period_near_its_end_stays_cancelled_for_30_days(selston):
    """A withdrawn election whose period ends soon is still published cancelled 30 days on."""
    import sqlalchemy as sa

    from purdah.models import election_t
    from purdah.services.windows import recompute_windows

    late = datetime(2027, 5, 1, 12, tzinfo=UTC)  # the 2027 period ends on 6 May
    before = vevents(council_feed(selston, "selston", now=late).body)
    (uid,) = [u for u, e in before.items() if "Ashfield" in e["summary"]]
    with selston.write() as (conn, _now):
        for eid in ("local.ashfield.2027-05-06", "local.selston.2027-05-06"):
            conn.execute(
                sa.update(election_t)
                .where(election_t.c.election_id == eid)
                .values(status="withdrawn")
            )
        recompute_windows(conn, late)
    found = vevents(council_feed(selston, "selston", now=late + timedelta(days=29)).body)
    assert found[uid]["status"] == "CANCELLED"
    assert "because the election was withdrawn" in found[uid]["description"]
    # The merged period was published under one UID: only that one comes back cancelled.
    assert [e["status"] for e in found.values()].count("CANCELLED") == 1
    assert uid not in vevents(council_feed(selston, "selston", now=late + timedelta(days=30)).body)


def test_a_period_that_loses_one_of_its_elections_keeps_its_uid(selston):
    from purdah.services.elections import cancel_election

    before = vevents(council_feed(selston, "selston").body)
    (uid,) = [u for u, e in before.items() if "Ashfield" in e["summary"]]
    later = SETUP + timedelta(days=3)
    cancel_election(set_clock(selston, later), "local.selston.2027-05-06")
    after = vevents(council_feed(selston, "selston", now=later).body)
    statuses = {u: e["status"] for u, e in after.items()}
    assert statuses[uid] == "CONFIRMED"
    assert after[uid]["summary"] == (
        "Pre-election period: Ashfield District Council election, 6 May 2027"
    )
    assert int(after[uid]["sequence"]) > int(before[uid]["sequence"])
    # The parish window was not the one the period's UID came from: no stray cancelled UID.
    assert set(after) == set(before)


def test_cancelled_events_in_the_four_parsers(selston, tmp_path):
    from purdah.services.elections import cancel_election

    now = SETUP + timedelta(days=10)
    cancel_election(set_clock(selston, now), "pcc.nottinghamshire.2028-05-04")
    body = council_feed(selston, "selston", now=now).body
    check(events_icalendar(body))  # the same three events, one of them cancelled
    from ical.calendar_stream import IcsCalendarStream

    strict = IcsCalendarStream.calendar_from_ics(body.decode())
    assert [str(e.status) for e in strict.events].count("EventStatus.CANCELLED") == 1
    import vobject

    cal = vobject.readOne(body.decode())
    assert [e.status.value for e in cal.vevent_list] == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js").exists():
        pytest.skip("ical.js not installed: run `npm install --prefix tests/js` (.ci/run does)")
    path = tmp_path / "selston.ics"
    path.write_bytes(body)
    out = subprocess.run(
        [node, str(JS / "parse.mjs"), str(path)], check=True, capture_output=True, text=True
    ).stdout
    summaries = [e["summary"] for e in json.loads(out)["events"]]
    assert [s.startswith("Cancelled: ") for s in summaries] == [False, True, False]


def test_cancelled_and_restored_periods_on_both_stores(store):
    """On SQLite and PostgreSQL: a cancelled poll's period is published cancelled; when the
    poll comes back its cancelled copy goes, and only the new period is published (under a
    new UID, or under the old one where SQLite gives the window its id again: then with a
    SEQUENCE above the cancelled event's)."""
    import sqlalchemy as sa

    from purdah.models import election_t
    from purdah.services.elections import cancel_election
    from purdah.services.windows import recompute_windows

    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "pcc.nottinghamshire.2028-05-04")
    (old_uid,) = vevents(council_feed(store, "gedling").body)
    later = SETUP + timedelta(days=1)
    cancel_election(set_clock(store, later), "pcc.nottinghamshire.2028-05-04")
    feed = council_feed(store, "gedling", now=later)
    cancelled = vevents(feed.body)
    assert {u: e["status"] for u, e in cancelled.items()} == {old_uid: "CANCELLED"}
    assert feed.last_modified == later.astimezone(UTC)
    restored = later + timedelta(days=1)
    with store.write() as (conn, _now):
        conn.execute(
            sa.update(election_t)
            .where(election_t.c.election_id == "pcc.nottinghamshire.2028-05-04")
            .values(status="scheduled", cancelled_at=None)
        )
        recompute_windows(conn, restored)
    events = vevents(council_feed(store, "gedling", now=restored).body)
    assert [e["status"] for e in events.values()] == ["CONFIRMED"]
    if old_uid in events:
        assert int(events[old_uid]["sequence"]) > int(cancelled[old_uid]["sequence"])
    with store.read() as conn:
        kept = conn.exec_driver_sql("SELECT COUNT(*) FROM removed_window").scalar()
    assert kept == 0


def test_the_served_feed_drops_a_cancelled_period_by_the_services_clock(selston):
    """Over HTTP, which cancelled periods are still published is decided by the service's
    clock (the one it answers with), and the ETag changes when one is left out."""
    from fastapi.testclient import TestClient

    from purdah.services.elections import cancel_election
    from purdah.web.app import create_app

    cancel_election(set_clock(selston, SETUP + timedelta(days=1)), "pcc.nottinghamshire.2028-05-04")
    end = datetime(2028, 5, 4, 21, tzinfo=UTC)

    def served(at: datetime) -> tuple[list[str], str]:
        client = TestClient(create_app(selston, clock=lambda: at))
        answer = client.get("/calendars/selston.ics")
        assert answer.status_code == 200
        return [e["status"] for e in vevents(answer.content).values()], answer.headers["etag"]

    before, etag_before = served(end - timedelta(minutes=1))
    after, etag_after = served(end)
    assert before == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    assert after == ["CONFIRMED", "CONFIRMED"] and etag_after != etag_before


def test_a_poll_cancelled_during_its_period_ends_the_period_then_and_says_so(selston):
    from purdah.services.elections import cancel_election

    during = datetime(2028, 4, 10, 12, tzinfo=UTC)  # the PCC period began on 27 March
    cancel_election(set_clock(selston, during), "pcc.nottinghamshire.2028-05-04")
    import icalendar

    cal = icalendar.Calendar.from_ical(council_feed(selston, "selston", now=during).body)
    (event,) = [e for e in cal.walk("VEVENT") if "Police" in str(e["SUMMARY"])]
    assert str(event["SUMMARY"]) == (
        "Pre-election period: Nottinghamshire Police and Crime Commissioner election "
        "(poll cancelled), 4 May 2028"
    )
    assert str(event["STATUS"]) == "CONFIRMED"  # the restriction did happen, until then
    assert event["DTEND"].dt.astimezone(UTC) == during
    assert "poll cancelled; the window ended when the clerk cancelled it" in str(
        event["DESCRIPTION"]
    )
