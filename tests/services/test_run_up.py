"""The run-up before the notice through the store: the default policy of a new store,
planned notices, announcements, policy changes, warnings, the clerk's reminder list.
Runs on SQLite and PostgreSQL. Each case names its published source."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.errors import InputError
from purdah.services.check import check
from purdah.services.elections import (
    add_election,
    announce_election,
    list_elections,
    set_notice,
)
from purdah.services.history import history
from purdah.services.notices import notices_due, run_ups_begun
from purdah.services.reconcile import reconcile
from purdah.services.register import (
    add_council,
    add_councillor,
    set_default_start_policy,
    set_start_policy,
)
from purdah.services.status import status
from purdah.services.windows import list_windows
from tests.services.helpers import set_clock


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


RECORDED = london(2024, 1, 10, 9)  # months before the polls of 2 May 2024
POLL = "local.uttlesford.2024-05-02"  # last day Tue 26 Mar 2024; run-up from Tue 5 Mar


def uttlesford(store, start_policy: str | None = None) -> None:
    add_council(
        set_clock(store, RECORDED),
        "uttlesford",
        name="Uttlesford District Council",
        nation="ENG",
        kind="district",
        start_policy=start_policy,
    )
    add_councillor(
        set_clock(store, RECORDED), "uttlesford/ann-lee", name="Ann Lee", agreed_may_post=True
    )


def promote(store, at: datetime, now: datetime | None = None):
    return check(store, "uttlesford/ann-lee", Action.PROMOTE, at, now)


def test_a_new_store_defaults_to_run_up(store):
    from purdah.services.register import list_councils

    assert set_default_start_policy(store, None).policy.value == "run-up"
    uttlesford(store)
    add_election(set_clock(store, RECORDED), POLL, nation="ENG")
    [council] = list_councils(store)
    assert council.start_policy == "run-up"
    [window] = list_windows(store)
    assert window.start == london(2024, 3, 5)
    assert set_default_start_policy(store, "notice-or-last-day").changed
    add_council(set_clock(store, RECORDED), "x", name="X", nation="ENG", kind="parish")
    assert [c.start_policy for c in list_councils(store)] == ["run-up", "notice-or-last-day"]


def test_a_poll_recorded_months_ahead_restricts_only_from_its_run_up(store):
    uttlesford(store)
    result = add_election(set_clock(store, RECORDED), POLL, nation="ENG")
    assert result.reconcile.changes == []  # nothing switched on the day it was typed in
    assert promote(store, RECORDED).allowed
    assert promote(store, RECORDED).warnings == ()
    assert promote(store, london(2024, 3, 4, 23, 59)).allowed
    answer = promote(store, london(2024, 3, 5, 0, 0))
    assert not answer.allowed
    [span] = answer.decision.windows
    assert span.start == london(2024, 3, 5)
    assert span.start_basis == "run-up: 15 working days before the last day for the notice"


def test_recording_the_planned_notice_uttlesford_2024_switches_back_at_once(store):
    # Uttlesford announced that every notice for 2 May 2024 would be published on
    # 22 March 2024 (uttlesford.gov.uk article 8921).
    uttlesford(store)
    add_election(set_clock(store, RECORDED), POLL, nation="ENG")
    reconcile(set_clock(store, london(2024, 3, 13, 9)))  # the run-up has begun: flags off
    assert not promote(store, london(2024, 3, 14, 10)).allowed
    recorded_at = london(2024, 3, 14, 10)
    result = set_notice(set_clock(store, recorded_at), POLL, date(2024, 3, 22))
    assert sorted((c.flag, c.new, c.at) for c in result.reconcile.changes) == [
        ("may_post", True, recorded_at),
        ("may_promote", True, recorded_at),
    ]
    back_on = [r for r in history(store, "uttlesford/ann-lee", None) if r.new]
    assert {(r.at, r.recorded_at) for r in back_on} == {(recorded_at, recorded_at)}  # not backdated
    answer = promote(store, london(2024, 3, 18, 10))
    assert answer.allowed
    [warning] = answer.warnings
    assert warning.kind == "notice-planned"
    assert warning.message == (
        "notice planned for Fri 22 Mar 2024: the pre-election window for "
        "local.uttlesford.2024-05-02 starts Fri 22 Mar 2024 (last day Tue 26 Mar 2024)"
    )
    after = promote(store, london(2024, 3, 22, 0, 0))
    assert not after.allowed
    assert after.decision.windows[0].start_basis == "actual notice of election"
    [row] = list_elections(store)
    assert row.notice_source == "clerk"
    assert row.notice_planned(recorded_at) and not row.notice_planned(london(2024, 3, 22, 9))


def test_a_planned_date_after_the_last_day_is_refused_and_changes_nothing(store):
    uttlesford(store)
    add_election(set_clock(store, RECORDED), POLL, nation="ENG")
    with pytest.raises(InputError) as caught:
        set_notice(set_clock(store, london(2024, 3, 14, 10)), POLL, date(2024, 3, 27))
    assert str(caught.value) == (
        "a planned notice date of Wed 27 Mar 2024 is after the statutory last day for the "
        "notice of election for local.uttlesford.2024-05-02, Tue 26 Mar 2024 (25 working "
        "days before the poll; SI 2006/3304 Sch 2 and 3 r1-2; SI 2006/3305 Sch 2 r1-2): "
        "check the date with the returning officer; nothing was changed"
    )
    [row] = list_elections(store)
    assert row.notice is None


def test_statutory_policy_says_yes_but_in_the_run_up_west_midlands_2024(store):
    # westmidlandspcc.info/timetable: the WMCA mayoral notice came out Thu 21 Mar 2024,
    # before the last day (Tue 26 Mar): under notice-or-statutory the answer on 21 Mar is
    # yes, and it must say that the notice may come any day.
    add_council(
        set_clock(store, RECORDED),
        "walsall",
        name="Walsall Council",
        nation="ENG",
        kind="metropolitan",
        within=("west-midlands",),
        start_policy="notice-or-statutory",
    )
    add_councillor(set_clock(store, RECORDED), "walsall/bo", name="Bo")
    add_election(set_clock(store, RECORDED), "mayor.west-midlands.2024-05-02")
    answer = check(store, "walsall/bo", Action.PROMOTE, london(2024, 3, 21, 10))
    assert answer.allowed
    [warning] = answer.warnings
    assert (warning.kind, warning.message, warning.last_day) == (
        "notice-due",
        "the notice of election for mayor.west-midlands.2024-05-02 may be published any "
        "day (last day Tue 26 Mar 2024)",
        date(2024, 3, 26),
    )
    [row] = status(store, london(2024, 3, 21, 10), "walsall")
    assert row.may_promote.allowed and row.warnings == answer.warnings
    assert check(store, "walsall/bo", Action.PROMOTE, london(2024, 3, 4, 10)).warnings == ()


def test_changing_the_policy_recomputes_and_audits_at_the_change(store):
    uttlesford(store, "notice-or-statutory")
    add_election(set_clock(store, RECORDED), POLL, nation="ENG")
    reconcile(set_clock(store, london(2024, 3, 13, 9)))
    assert promote(store, london(2024, 3, 14, 10)).allowed
    changed_at = london(2024, 3, 14, 10)
    result = set_start_policy(set_clock(store, changed_at), "uttlesford", "run-up")
    assert (result.old, result.new, result.windows.changed) == (
        "notice-or-statutory",
        "run-up",
        1,
    )
    assert {(c.new, c.at) for c in result.reconcile.changes} == {(False, changed_at)}
    assert not promote(store, changed_at).allowed
    back = set_start_policy(set_clock(store, london(2024, 3, 15, 9)), "uttlesford", "statutory")
    assert back.new == "notice-or-statutory"  # the old name still reads
    assert {(c.new, c.at) for c in back.reconcile.changes} == {(True, london(2024, 3, 15, 9))}


def test_general_election_2024_from_the_announcement(store):
    # NALC / SALC: announced Wed 22 May 2024, dissolution Thu 30 May, notice by Tue 4 June.
    uttlesford(store)
    announced = london(2024, 5, 22, 17, 0)
    add_election(
        set_clock(store, london(2024, 5, 23, 9)), "parl.2024-07-04", announced_at=announced
    )
    assert promote(store, london(2024, 5, 22, 16, 59)).allowed
    answer = promote(store, london(2024, 5, 22, 17, 0))
    assert not answer.allowed
    assert answer.decision.windows[0].start_basis == "announcement of the general election"
    assert promote(store, london(2024, 5, 25, 0, 1)).decision.windows  # Cabinet Office start


def test_general_election_recorded_long_before_restricts_from_the_run_up(store):
    # SETTLED: never from the day it was typed in; from the run-up before dissolution,
    # until the announcement is recorded.
    uttlesford(store)
    add_election(set_clock(store, RECORDED), "parl.2024-07-04")
    assert promote(store, RECORDED).allowed
    assert not promote(store, london(2024, 5, 8, 0, 0)).allowed
    assert promote(store, london(2024, 5, 7, 23, 59)).allowed
    result = announce_election(
        set_clock(store, london(2024, 5, 23, 9)), "parl.2024-07-04", london(2024, 5, 22, 17)
    )
    assert result.windows.changed == 1
    assert promote(store, london(2024, 5, 20, 9)).allowed  # before the announcement


def test_announcement_is_only_for_general_elections(store):
    uttlesford(store)
    with pytest.raises(InputError, match="only for a UK general election"):
        add_election(
            set_clock(store, london(2024, 3, 2)),
            POLL,
            nation="ENG",
            announced_at=london(2024, 3, 1),
        )
    with pytest.raises(InputError, match="is in the future"):
        add_election(
            set_clock(store, london(2024, 5, 1)),
            "parl.2024-07-04",
            announced_at=london(2024, 5, 22),
        )


def test_notices_lists_the_polls_without_a_notice_date(store):
    uttlesford(store)
    add_election(set_clock(store, RECORDED), POLL, nation="ENG")
    add_election(set_clock(store, RECORDED), "parl.2024-07-04")
    [local, general] = notices_due(store, RECORDED)
    assert (local.election_id, local.run_up_start, local.last_day, local.begun) == (
        POLL,
        date(2024, 3, 5),
        date(2024, 3, 26),
        False,
    )
    assert local.command == "purdah election set-notice local.uttlesford.2024-05-02 DATE"
    assert local.councils == 1
    assert general.command == "purdah election announce parl.2024-07-04 WHEN"
    assert general.dissolution == date(2024, 5, 30)
    assert run_ups_begun(store, RECORDED) == []
    assert [n.election_id for n in run_ups_begun(store, london(2024, 3, 12, 9))] == [POLL]
    set_notice(set_clock(store, london(2024, 3, 13, 9)), POLL, date(2024, 3, 22))
    assert [n.election_id for n in notices_due(store, london(2024, 3, 13, 9))] == [
        "parl.2024-07-04"
    ]


def test_import_keeps_the_notice_date_the_clerk_recorded(store):
    from purdah.services.importer import ImportOptions, import_sources
    from tests.services.helpers import nottinghamshire

    data = Path(__file__).parents[1] / "data" / "google_export_x_wr_timezone.ics"
    now = london(2026, 11, 21, 9)
    nottinghamshire(store)
    import_sources(set_clock(store, now), [str(data)], ImportOptions(council="selston"))
    [row] = list_elections(store)
    assert row.notice == date(2027, 3, 26)
    assert row.notice_source not in (None, "clerk")  # the feed's
    set_notice(set_clock(store, now), row.election_id, date(2027, 3, 24))
    report = import_sources(set_clock(store, now), [str(data)], ImportOptions(council="selston"))
    [row] = list_elections(store)
    assert (row.notice, row.notice_source) == (date(2027, 3, 24), "clerk")
    assert any(
        "kept the notice date 2027-03-24 the clerk recorded for local.selston.2027-05-06; "
        "the calendar says 2027-03-26" in w
        for w in report.warnings
    )


def test_an_announcement_recorded_late_switches_at_the_recording(store):
    uttlesford(store)
    add_election(set_clock(store, RECORDED), "parl.2024-07-04")
    reconcile(set_clock(store, london(2024, 5, 6, 9)))  # before the run-up (8 May): flags on
    recorded_at = london(2024, 5, 7, 9)
    result = announce_election(
        set_clock(store, recorded_at), "parl.2024-07-04", london(2024, 5, 6, 17)
    )
    assert {c.at for c in result.reconcile.changes} == {recorded_at}


def test_council_csv_takes_policy_names_old_and_new_and_blank_is_the_default(store, tmp_path):
    from purdah.services.register import import_councils, list_councils

    csv = tmp_path / "councils.csv"
    csv.write_text(
        "slug,name,nation,kind,start_policy\n"
        "a,A,ENG,parish,latest-notice\n"
        "b,B,ENG,parish,\n"
        "c,C,ENG,parish,notice-or-dissolution\n"
    )
    import_councils(set_clock(store, RECORDED), csv)
    assert [(c.slug, c.start_policy) for c in list_councils(store)] == [
        ("a", "notice-or-last-day"),
        ("b", "run-up"),
        ("c", "notice-or-dissolution"),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("slug,name,nation,kind,start_policy\nd,D,ENG,parish,whenever\n")
    with pytest.raises(InputError) as caught:
        import_councils(set_clock(store, RECORDED), bad)
    assert str(caught.value) == (
        "nothing imported; fix these rows and import again:\n"
        f"  {bad}:2: start policy 'whenever' is not one of: run-up, notice-or-statutory, "
        "notice-or-last-day, notice-or-earliest-day, notice-or-dissolution"
    )
