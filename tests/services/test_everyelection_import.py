"""EveryElection JSON as a source: every election placed without --area, groups matched
or expanded, cancelled/replaced/deleted, pagination, incremental sync, and the notice of
election deadline cross-check. Fixtures: real responses from Democracy Club
(elections_list_page, postcode_*) and ones written in the same shape for the cases those
lack (tests/data/everyelection/). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from purdah.clock import LONDON
from purdah.ids import Nation, parse_election_id
from purdah.services.areas import add_from_register
from purdah.services.elections import list_elections
from purdah.services.importer import ImportOptions, import_sources
from purdah.services.windows import list_windows
from purdah.timetable import compute_timetable
from tests.services.helpers import set_clock

DATA = Path(__file__).parents[1] / "data" / "everyelection"
NOW = datetime(2026, 11, 21, 9, tzinfo=LONDON)
PLAIN = ImportOptions()


def run(store, *names, options=PLAIN, **kwargs):
    return import_sources(set_clock(store, NOW), [str(DATA / n) for n in names], options, **kwargs)


def windows(store, council):
    return {w.election_id: w for w in list_windows(store, council)}


def test_a_county_election_is_placed_by_its_organisation_and_stands_for_its_divisions(store):
    add_from_register(set_clock(store, NOW), gss="E04007786")  # Selston, in Nottinghamshire
    report = run(store, "list_county_with_divisions.json")
    assert [(p.election_id, p.area, p.action) for p in report.elections] == [
        ("local.nottinghamshire.2029-05-03", "nottinghamshire", "new")
    ]
    assert report.skipped == [] and report.warnings == []
    # One division uncontested does not cancel the county's election.
    assert list(windows(store, "selston")) == ["local.nottinghamshire.2029-05-03"]


def test_a_cancelled_and_replaced_ballot_is_one_poll_moved_gap_restricted(store):
    # The statutory start policy, so the window starts at the first poll's latest notice.
    add_from_register(set_clock(store, NOW), gss="E04007786", start_policy="notice-or-statutory")
    report = run(store, "list_moved_ballot_and_by_election.json")
    ids = {p.election_id: p for p in report.elections}
    moved = ids["local.ashfield.kirkby-cross.by.2027-03-04"]
    assert moved.uid == "local.ashfield.kirkby-cross.by.2027-02-11"  # known by its first id
    assert moved.status == "moved"
    [row] = [e for e in list_elections(store) if e.election_id.startswith("local.ashfield")]
    assert (row.poll_date, row.original_poll_date) == (date(2027, 3, 4), date(2027, 2, 11))
    win = windows(store, "selston")["local.ashfield.kirkby-cross.by.2027-03-04"]
    first = compute_timetable(
        parse_election_id("local.ashfield.kirkby-cross.by.2027-02-11"), Nation.ENG
    )
    assert win.start.date() == first.notice_latest  # from the first poll's start


def test_a_parliamentary_by_election_is_placed_in_its_constituency(store):
    report = run(store, "list_moved_ballot_and_by_election.json")
    [parl] = [p for p in report.elections if p.type == "parl"]
    assert (parl.election_id, parl.area) == (
        "parl.runcorn-and-helsby.by.2027-03-04",
        "runcorn-and-helsby",
    )


def test_a_notice_deadline_disagreeing_with_purdah_is_a_warning_naming_both_dates(store):
    report = run(store, "list_moved_ballot_and_by_election.json")
    ours = compute_timetable(
        parse_election_id("parl.runcorn-and-helsby.by.2027-03-04"), Nation.ENG
    ).notice_latest
    assert ours != date(2027, 2, 1)
    [warning] = [w for w in report.warnings if "deadline" in w]
    assert warning.endswith(
        f"parl.runcorn-and-helsby.by.2027-03-04: EveryElection's notice of election deadline "
        f"is 2027-02-01, purdah's statutory latest date is {ours}; purdah's date is used: "
        "check the timetable"
    )


def test_a_mayor_who_is_police_commissioner_covers_the_police_area_through_the_mayoralty(store):
    add_from_register(
        set_clock(store, NOW), gss="E04000001"
    )  # Blackrod, Bolton, Greater Manchester
    report = run(store, "list_mayor_who_is_police_commissioner.json")
    assert [(p.election_id, p.area) for p in report.elections] == [
        ("mayor.greater-manchester-ca.2028-05-04", "greater-manchester-ca")
    ]
    assert list(windows(store, "blackrod")) == ["mayor.greater-manchester-ca.2028-05-04"]


def test_real_postcode_responses_are_placed_and_their_cancellations_kept(store):
    add_from_register(set_clock(store, NOW), slug="lewisham")
    first = run(
        store,
        "postcode_AA14AA.json",
        options=ImportOptions(since=date(2018, 1, 1)),
    )
    placed = {p.election_id: p.area for p in first.elections}
    assert placed == {
        "mayor.lewisham.2018-05-03": "lewisham",
        "local.lewisham.blackheath.2018-05-10": "lewisham",
        "parl.lewisham-east.by.2018-06-14": "lewisham-east",  # the constituency
    }
    assert first.skipped == []
    # The by-election's nation is not in the response: taken from its other polls, said so.
    assert any("nation ENG from the other polls in the same response" in w for w in first.warnings)
    later = run(store, "postcode_AB12CD.json", options=ImportOptions(since=date(2018, 1, 1)))
    actions = {p.election_id: p.action for p in later.elections}
    assert actions["mayor.lewisham.2018-05-03"] == "cancelled"


def test_a_saved_page_with_a_next_page_is_read_and_nothing_is_withdrawn_for_absence(store):
    add_from_register(set_clock(store, NOW), slug="adur")
    report = run(store, "elections_list_page.json", options=ImportOptions(since=date(2015, 1, 1)))
    assert {p.election_id for p in report.elections} == {
        "local.adur.2016-05-05",
        "local.amber-valley.2018-05-03",  # placed from the register, not registered
    }
    [warning] = report.warnings
    assert "was not read" in warning and "offset=6" in warning


def test_pages_are_followed_from_an_api_url(store, monkeypatch):
    from purdah.ical.fetch import Fetched

    pages = {
        "https://elections.democracyclub.org.uk/api/elections/?future=1": "paged_1.json",
        "https://elections.democracyclub.org.uk/api/elections/?future=1&offset=1": "paged_2.json",
    }
    asked = []

    def fake_fetch(location, **kwargs):
        asked.append(location)
        return Fetched((DATA / pages[location]).read_bytes())

    monkeypatch.setattr("purdah.services.importer.fetch", fake_fetch)
    add_from_register(set_clock(store, NOW), gss="E04007786")
    report = import_sources(set_clock(store, NOW), list(pages)[:1], PLAIN)
    assert asked == list(pages)
    assert {p.election_id for p in report.elections} == {
        "local.ashfield.2027-05-06",
        "local.nottinghamshire.2029-05-03",
    }


def test_an_incremental_sync_withdraws_deleted_and_keeps_absent(store):
    add_from_register(set_clock(store, NOW), gss="E04007786")
    run(store, "paged_2.json", options=ImportOptions(), names=["feed:ee"])
    run(store, "paged_1.json", options=ImportOptions(), names=["feed:ee"], partial=True)
    assert {e.election_id: e.status for e in list_elections(store)} == {
        "local.ashfield.2027-05-06": "scheduled",
        "local.nottinghamshire.2029-05-03": "scheduled",  # absent from the increment: kept
    }
    report = run(store, "modified_deleted.json", names=["feed:ee"], partial=True)
    assert {e.election_id: e.status for e in list_elections(store)} == {
        "local.ashfield.2027-05-06": "withdrawn",
        "local.nottinghamshire.2029-05-03": "scheduled",
    }
    assert [p.action for p in report.elections] == ["withdrawn"]


def test_format_everyelection_refuses_json_that_is_not(store, tmp_path):
    import pytest

    from purdah.ical.reader import FeedRejected

    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(FeedRejected, match="not EveryElection elections"):
        import_sources(set_clock(store, NOW), [str(bad)], ImportOptions(format="everyelection"))
    assert list_elections(store) == []


def test_feed_refresh_asks_only_for_what_changed_since_the_last_good_fetch(store, monkeypatch):
    from purdah.ical.fetch import Fetched
    from purdah.services.feeds import add_feed, refresh_feed

    url = "https://elections.democracyclub.org.uk/api/elections/?future=1"
    asked = []

    def fake_fetch(location, **kwargs):
        asked.append(location)
        name = "modified_deleted.json" if "modified=" in location else "paged_2.json"
        return Fetched((DATA / name).read_bytes())

    monkeypatch.setattr("purdah.services.feeds.fetch", fake_fetch)
    monkeypatch.setattr("purdah.services.importer.fetch", fake_fetch)
    add_from_register(set_clock(store, NOW), gss="E04007786")
    added = add_feed(set_clock(store, NOW), url, name="ee", options=ImportOptions())
    assert added.ok and asked == [url]
    later = datetime(2026, 11, 22, 9, tzinfo=LONDON)
    result = refresh_feed(set_clock(store, later), "ee")
    assert result.ok, result.error
    assert asked[1] == url + "&modified=2026-11-21T09%3A00%3A00%2B00%3A00"
    # Absent from the increment is not gone: the county poll stays.
    assert {e.election_id: e.status for e in list_elections(store)} == {
        "local.nottinghamshire.2029-05-03": "scheduled"
    }


def test_polls_outside_the_import_window_are_skipped_and_options_it_ignores_are_said(store):
    report = run(store, "elections_list_page.json", options=ImportOptions(area="ashfield"))
    assert report.elections == []
    assert sorted(reason for _uid, _title, reason in report.skipped) == [
        "poll 2016-05-05 is outside 2025-11-21 to 2036-11-20",
        "poll 2018-05-03 is outside 2025-11-21 to 2036-11-20",
    ]
    assert any(w.endswith("--area ignored") for w in report.warnings)
