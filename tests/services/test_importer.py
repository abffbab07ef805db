"""Importing election calendars into the store: idempotent, all or nothing, never losing
the last good data. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from purdah.clock import LONDON
from purdah.ical.reader import FeedRejected
from purdah.services.elections import list_elections
from purdah.services.importer import ImportOptions, import_sources
from purdah.services.windows import list_windows
from tests.services.helpers import nottinghamshire, set_clock

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2026, 11, 21, 9, tzinfo=LONDON)
SELSTON = ImportOptions(council="selston")


def run(store, *paths, options=SELSTON, **kwargs):
    return import_sources(set_clock(store, NOW), [str(p) for p in paths], options, **kwargs)


def calendar(tmp_path, name, events: list[tuple[str, str, str]]) -> Path:
    """A small feed: (uid, yyyymmdd, summary-or-status) per event."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    for uid, day, summary in events:
        status = "STATUS:CANCELLED" if summary == "CANCELLED" else None
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTART;VALUE=DATE:{day}",
            "SUMMARY:Parish council election",
            *([status] if status else []),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_google_export_creates_elections_windows_and_sets_the_notice(store):
    nottinghamshire(store)
    report = run(store, DATA / "google_export_x_wr_timezone.ics")
    assert [(p.election_id, p.action) for p in report.elections] == [
        ("local.selston.2027-05-06", "new"),
        ("local.selston.2027-05-06", "notice"),
    ]
    [election] = list_elections(store)
    assert election.notice == date(2027, 3, 26)
    [window] = list_windows(store, "selston")
    assert window.start == datetime(2027, 3, 26, tzinfo=LONDON)
    assert window.actual_notice
    reasons = {reason for _, _, reason in report.skipped}
    assert "'nominations' is not a poll" in reasons


def test_reimport_is_idempotent(store, tmp_path):
    nottinghamshire(store)
    path = calendar(tmp_path, "p.ics", [("a", "20270506", ""), ("b", "20280504", "")])
    run(store, path)
    again = run(store, path)
    assert {p.action for p in again.elections} == {"unchanged"}
    assert again.windows.added == again.windows.changed == again.windows.removed == 0
    assert len(list_elections(store)) == 2


def test_moved_event_moves_the_election(store, tmp_path):
    nottinghamshire(store)
    run(store, calendar(tmp_path, "p.ics", [("a", "20270506", "")]))
    report = run(store, calendar(tmp_path, "p.ics", [("a", "20270617", "")]))
    assert [(p.action, p.election_id) for p in report.elections] == [
        ("moved", "local.selston.2027-06-17")
    ]
    [election] = list_elections(store)
    assert (election.status, election.original_poll_date, election.poll_date) == (
        "moved",
        date(2027, 5, 6),
        date(2027, 6, 17),
    )


def test_cancelled_event_cancels_the_election(store, tmp_path):
    nottinghamshire(store)
    run(store, calendar(tmp_path, "p.ics", [("a", "20270506", "")]))
    report = run(store, calendar(tmp_path, "p.ics", [("a", "20270506", "CANCELLED")]))
    assert [p.action for p in report.elections] == ["cancelled"]
    assert list_elections(store)[0].status == "cancelled"


def test_event_gone_from_a_source_that_still_parses_is_withdrawn_and_reported(store, tmp_path):
    nottinghamshire(store)
    run(store, calendar(tmp_path, "p.ics", [("a", "20270506", ""), ("b", "20280504", "")]))
    report = run(store, calendar(tmp_path, "p.ics", [("a", "20270506", "")]))
    assert ("withdrawn", "local.selston.2028-05-04") in {
        (p.action, p.election_id) for p in report.elections
    }
    assert any("no longer in the source; withdrawn" in w for w in report.warnings)
    statuses = {e.election_id: e.status for e in list_elections(store)}
    assert statuses["local.selston.2028-05-04"] == "withdrawn"
    assert [w.election_id for w in list_windows(store, "selston")] == ["local.selston.2027-05-06"]


def test_drastically_shrunken_source_is_a_failed_fetch_unless_forced(store, tmp_path):
    nottinghamshire(store)
    days = ["20270506", "20280504", "20290503", "20300502", "20310501"]
    run(store, calendar(tmp_path, "p.ics", [(f"e{i}", d, "") for i, d in enumerate(days)]))
    shrunk = calendar(tmp_path, "p.ics", [("e0", days[0], "")])
    with pytest.raises(FeedRejected, match="had 5 polls and now has 1"):
        run(store, shrunk)
    assert {e.status for e in list_elections(store)} == {"scheduled"}  # last good data kept
    forced = run(store, shrunk, force=True)
    assert sum(p.action == "withdrawn" for p in forced.elections) == 4


def test_empty_source_that_had_polls_changes_nothing(store, tmp_path):
    nottinghamshire(store)
    run(store, calendar(tmp_path, "p.ics", [("a", "20270506", "")]))
    with pytest.raises(FeedRejected, match="had 1 poll and now has 0"):
        run(store, calendar(tmp_path, "p.ics", []))
    assert list_elections(store)[0].status == "scheduled"


def test_one_bad_source_rejects_the_whole_import(store):
    nottinghamshire(store)
    with pytest.raises(FeedRejected, match=r"garbage_line\.ics: line 9"):
        run(store, DATA / "apple_export_all_day.ics", DATA / "garbage_line.ics")
    assert list_elections(store) == []


def test_dry_run_changes_nothing(store):
    nottinghamshire(store)
    report = run(store, DATA / "all_day_dtend_variants.ics", dry_run=True)
    assert len(report.elections) == 4 and report.dry_run
    assert list_elections(store) == []


def test_democracy_club_ids_give_type_and_area(store):
    nottinghamshire(store)
    report = run(store, DATA / "democracy_club_ids.ics", options=ImportOptions())
    assert {p.election_id: p.area for p in report.elections} == {
        "pcc.nottinghamshire.2028-05-04": "nottinghamshire",
        "local.ashfield.2027-05-06": "ashfield",
        "parl.2029-08-15": "uk",
        "sp.2026-05-07": "sct",
    }
    # The PCC poll covers the parish through its county; the district poll through Ashfield.
    covering = {w.election_id for w in list_windows(store, "selston")}
    assert covering == {
        "pcc.nottinghamshire.2028-05-04",
        "local.ashfield.2027-05-06",
        "parl.2029-08-15",
    }


def test_every_event_with_type_and_area(store, tmp_path):
    nottinghamshire(store)
    path = tmp_path / "dedicated.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        b"DTSTART;VALUE=DATE:20280504\r\nSUMMARY:4 May\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    report = run(
        store, path, options=ImportOptions(area="nottinghamshire", type="pcc", every_event=True)
    )
    assert [p.election_id for p in report.elections] == ["pcc.nottinghamshire.2028-05-04"]


def test_poll_of_another_kind_in_a_council_calendar_is_reported(store):
    nottinghamshire(store)
    report = run(store, DATA / "thunderbird_export_europe_london.ics")
    assert [p.election_id for p in report.elections] == ["mayor.selston.2028-05-04"]
    assert any("recorded for selston only" in w for w in report.warnings)


def test_a_local_poll_without_a_nation_is_skipped_with_the_reason(store, tmp_path):
    nottinghamshire(store)
    path = calendar(tmp_path, "p.ics", [("a", "20270506", "")])
    report = run(store, path, options=ImportOptions(area="uk"))
    [(uid, _summary, reason)] = report.skipped
    assert uid == "a" and "give --nation" in reason


def test_the_same_calendar_from_another_file_name_updates_by_uid(store, tmp_path):
    """A fresh download saved as `ashfield (1).ics`: the moved poll moves, not doubles."""
    nottinghamshire(store)
    first = calendar(tmp_path, "ashfield.ics", [("poll-1@ashfield", "20270506", "")])
    run(store, first)
    again = calendar(tmp_path, "ashfield (1).ics", [("poll-1@ashfield", "20270513", "")])
    report = run(store, again)
    rows = list_elections(store)
    assert [(r.election_id, r.poll_date, r.original_poll_date, r.status) for r in rows] == [
        ("local.selston.2027-05-13", date(2027, 5, 13), date(2027, 5, 6), "moved")
    ]
    assert rows[0].source == str(again.resolve())
    assert any("is the same event (same UID and area)" in w for w in report.warnings)


def test_the_same_uid_for_another_area_is_another_event(store, tmp_path):
    nottinghamshire(store)
    run(store, calendar(tmp_path, "a.ics", [("1", "20270506", "")]))
    other = ImportOptions(council="gedling")
    run(store, calendar(tmp_path, "b.ics", [("1", "20270506", "")]), options=other)
    assert sorted(r.election_id for r in list_elections(store)) == [
        "local.gedling.2027-05-06",
        "local.selston.2027-05-06",
    ]


def test_nul_byte_in_a_poll_title_is_removed_the_same_way_on_both_stores(store):
    # Issue 8, point 6: on PostgreSQL the whole import failed with "PostgreSQL text fields
    # cannot contain NUL". The byte is removed before anything is stored, on either store.
    nottinghamshire(store)
    report = run(store, DATA / "nul_byte_in_title.ics")
    assert [(p.election_id, p.title) for p in report.elections] == [
        ("local.selston.2027-05-06", "Parish election")
    ]
    assert report.warnings == [
        f"{DATA / 'nul_byte_in_title.ics'}: line 7, 1 NUL byte removed, as no text can hold "
        "one; check the text of that event"
    ]
    import sqlalchemy as sa

    from purdah.models import election_t

    with store.read() as conn:
        titles = conn.execute(sa.select(election_t.c.title)).scalars().all()
    assert titles == ["Parish election"]


@pytest.mark.parametrize(
    "name",
    [
        "hostile_rrule_byhour_byminute_bysecond.ics",
        "hostile_rrule_byweekno_bysetpos.ics",
        "series_daily_without_end.ics",
        "nul_line_zero_filled_block.ics",
    ],
)
def test_a_limit_hit_changes_nothing_in_the_store(store, name):
    nottinghamshire(store)
    run(store, DATA / "apple_export_all_day.ics")
    before = [(e.election_id, e.status) for e in list_elections(store)]
    with pytest.raises(FeedRejected, match=r"nothing was imported"):
        run(store, DATA / "apple_export_all_day.ics", DATA / name)
    assert [(e.election_id, e.status) for e in list_elections(store)] == before
