"""The core promise: flags switch on time, and check answers right, at every boundary.
Runs on SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.services.check import check
from purdah.services.elections import (
    add_election,
    add_non_working_day,
    cancel_election,
    move_election,
    set_notice,
)
from purdah.services.history import exempt, history
from purdah.services.reconcile import reconcile
from purdah.services.status import status
from purdah.services.windows import list_windows
from tests.invariants import check_invariants
from tests.services.helpers import SETUP, nottinghamshire, set_clock

SECOND = timedelta(seconds=1)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def allowed(store, ref, when, action=Action.PROMOTE):
    return check(store, ref, action, when).allowed


# local ENG poll Thu 7 May 2026: latest notice Mon 30 March 2026 (the day after the clocks
# go forward), close of poll 22:00 BST.
START_2026 = at(2026, 3, 30)
END_2026 = at(2026, 5, 7, 22)


def test_window_boundaries_to_the_second_across_the_bst_change(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    assert START_2026.utcoffset() == timedelta(hours=1)
    assert allowed(store, "selston/jane-doe", START_2026 - SECOND)
    assert not allowed(store, "selston/jane-doe", START_2026)
    assert not allowed(store, "selston/jane-doe", END_2026 - SECOND)
    assert allowed(store, "selston/jane-doe", END_2026)
    # The clocks changed at 01:00 GMT on 29 March: one second before the start is
    # 23:59:59 BST on the 29th, i.e. 22:59:59 UTC.
    utc_edge = datetime.fromisoformat("2026-03-29T22:59:59+00:00")
    assert allowed(store, "selston/jane-doe", utc_edge)
    assert not allowed(store, "selston/jane-doe", utc_edge + SECOND)


def test_reconcile_switches_at_start_and_end_and_is_idempotent(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    before = reconcile(set_clock(store, START_2026 - SECOND))
    assert before.changes == []
    started = reconcile(set_clock(store, START_2026))
    assert {(c.flag, c.new) for c in started.changes} == {
        ("may_post", False),
        ("may_promote", False),
    }
    # Jane (may post) and Pat (may post) lose both flags; Sam (not agreed) only promote.
    assert len(started.changes) == 5
    assert all(c.at == START_2026 for c in started.changes)
    assert reconcile(set_clock(store, START_2026)).changes == []
    assert len(history(store)) == 5
    ended = reconcile(set_clock(store, END_2026))
    assert len(ended.changes) == 5 and all(c.new for c in ended.changes)
    assert reconcile(set_clock(store, END_2026)).changes == []
    rows = {r.councillor: r for r in status(store, END_2026)}
    assert not any(r.mismatch for r in rows.values())
    assert rows["gedling/ann-other"].may_promote.allowed  # Gedling is not in Ashfield


def test_downtime_across_a_boundary_is_caught_up_with_the_right_instants(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    reconcile(set_clock(store, at(2026, 3, 1)))
    # Down from 1 March to 1 June: both boundaries missed.
    result = reconcile(set_clock(store, at(2026, 6, 1)))
    assert result.replayed == 2
    jane = [h for h in history(store, "selston/jane-doe") if h.flag == "may_promote"]
    assert [(h.at, h.new) for h in jane] == [(START_2026, False), (END_2026, True)]
    assert all(h.recorded_at == at(2026, 6, 1) for h in jane)
    assert not check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 6, 1)).mismatch


def test_check_is_right_even_if_reconcile_never_ran(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    answer = check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 4, 1))
    assert not answer.allowed
    assert answer.mismatch  # the stored flag was never switched: a fault, reported
    assert [s.election_id for s in answer.decision.windows] == ["local.ashfield.2026-05-07"]


def test_overlapping_windows_parish_district_county_pcc_and_general_election(store):
    nottinghamshire(store)
    elections = {
        "local.selston.2027-05-06": "ENG",  # the parish's own poll
        "local.ashfield.2027-05-06": "ENG",  # its district, same day
        "local.nottinghamshire.2029-05-03": "ENG",  # its county
        "pcc.nottinghamshire.2028-05-04": None,  # its police area
        "parl.2029-08-15": None,  # the whole UK
    }
    for election_id, nation in elections.items():
        add_election(set_clock(store, SETUP), election_id, nation=nation)
    windows = list_windows(store, "selston")
    assert {w.election_id for w in windows} == set(elections)
    pcc = next(w for w in windows if w.election_id.startswith("pcc"))
    county = next(w for w in windows if w.election_id.startswith("local.nottinghamshire"))
    general = next(w for w in windows if w.election_id.startswith("parl"))
    # Between the county poll (3 May 2029) and dissolution (9 July 2029) nothing covers.
    assert allowed(store, "selston/jane-doe", county.end)
    assert allowed(store, "selston/jane-doe", general.start - SECOND)
    assert not allowed(store, "selston/jane-doe", general.start)
    assert not allowed(store, "selston/jane-doe", pcc.start)
    # Gedling is in the county and the police area but not in Ashfield or Selston.
    assert not allowed(store, "gedling/ann-other", pcc.start)
    assert allowed(store, "gedling/ann-other", at(2027, 4, 20))
    assert not allowed(store, "selston/jane-doe", at(2027, 4, 20))


def test_union_of_overlapping_windows_keeps_restriction_until_the_last_ends(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "pcc.nottinghamshire.2028-05-04")
    # A parish by-election whose window overlaps the PCC window and ends later.
    add_election(set_clock(store, SETUP), "local.selston.underwood.by.2028-05-18", nation="ENG")
    pcc_end = at(2028, 5, 4, 22)
    by_end = at(2028, 5, 18, 22)
    answer = check(store, "selston/jane-doe", Action.PROMOTE, pcc_end - SECOND)
    assert {s.election_id for s in answer.decision.windows} == {
        "pcc.nottinghamshire.2028-05-04",
        "local.selston.underwood.by.2028-05-18",
    }
    assert not allowed(store, "selston/jane-doe", pcc_end)
    assert allowed(store, "selston/jane-doe", by_end)
    assert allowed(store, "gedling/ann-other", pcc_end)  # only the PCC window covered them


def test_ward_scope_restricts_only_that_wards_councillors(store):
    nottinghamshire(store, parish_scope="ward")
    add_election(set_clock(store, SETUP), "local.selston.underwood.by.2026-06-18", nation="ENG")
    inside = at(2026, 6, 1)
    assert not allowed(store, "selston/jane-doe", inside)  # ward Underwood
    assert allowed(store, "selston/sam-roe", inside)  # ward Selston


def test_default_scope_is_the_whole_council(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.underwood.by.2026-06-18", nation="ENG")
    assert not allowed(store, "selston/sam-roe", at(2026, 6, 1))


def test_cancelled_poll_releases_only_when_no_other_window_covers(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "pcc.nottinghamshire.2028-05-04")
    add_election(set_clock(store, SETUP), "local.selston.2028-04-20", nation="ENG")
    cancelled_at = at(2028, 4, 1, 12)
    result = cancel_election(set_clock(store, cancelled_at), "local.selston.2028-04-20")
    assert result.election.status == "cancelled"
    # The PCC window still covers Selston: no flag comes back.
    assert not allowed(store, "selston/jane-doe", cancelled_at + SECOND)
    window = next(w for w in list_windows(store, "selston") if w.election_id.startswith("local"))
    assert window.end == cancelled_at
    assert allowed(store, "selston/jane-doe", at(2028, 5, 4, 22))


def test_cancelled_before_its_window_starts_leaves_no_window(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2028-04-20", nation="ENG")
    cancel_election(set_clock(store, at(2028, 1, 10)), "local.selston.2028-04-20")
    assert list_windows(store, "selston") == []


def test_moved_poll_restricts_the_gap(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2026-05-07", nation="ENG")
    move_election(set_clock(store, at(2026, 4, 20)), "local.selston.2026-05-07", date(2026, 6, 18))
    window = next(iter(list_windows(store, "selston")))
    assert window.status == "moved"
    assert window.start == START_2026  # the original start: restricted all along
    assert window.end == at(2026, 6, 18, 22)
    assert not allowed(store, "selston/jane-doe", at(2026, 5, 20))  # the gap


def test_actual_notice_moves_the_start(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2026-05-07", nation="ENG")
    set_notice(set_clock(store, SETUP), "local.selston.2026-05-07", date(2026, 3, 20))
    answer = check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 3, 20))
    assert not answer.allowed
    assert answer.decision.windows[0].actual_notice
    assert answer.decision.windows[0].start_basis == "actual notice of election"


def test_day_of_mourning_moves_every_affected_window(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2026-05-07", nation="ENG")
    add_non_working_day(set_clock(store, SETUP), date(2026, 3, 31), "national day of mourning")
    # Latest notice moves from Mon 30 March to Fri 27 March.
    assert not allowed(store, "selston/jane-doe", at(2026, 3, 27))


def test_exemption_allows_one_action_for_its_period_and_is_audited(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2026-05-07", nation="ENG")
    start, end = at(2026, 4, 10, 9), at(2026, 4, 12, 18)
    result = exempt(
        set_clock(store, at(2026, 4, 10, 9)),
        "selston/mayor",
        action=Action.POST,
        start=start,
        end=end,
        reason="civic mayor: non-political Easter notice",
        granted_by="Clerk",
    )
    inside = check(store, "selston/mayor", Action.POST, start)
    assert inside.allowed and inside.decision.exemption.id == result.id
    assert not check(store, "selston/mayor", Action.PROMOTE, start).allowed  # post only
    assert not check(store, "selston/mayor", Action.POST, end).allowed
    assert not check(store, "selston/jane-doe", Action.POST, start).allowed  # only her
    changes = history(store, "selston/mayor")
    assert any("exemption #" in h.cause and h.new for h in changes)
    reconcile(set_clock(store, end))
    after = history(store, "selston/mayor")
    assert after[-1].flag == "may_post" and not after[-1].new and after[-1].at == end


def test_councillor_not_agreed_may_never_post(store):
    nottinghamshire(store)
    answer = check(store, "selston/sam-roe", Action.POST, at(2026, 2, 1))
    assert not answer.allowed
    assert "not agreed" in answer.decision.cause
    assert check(store, "selston/sam-roe", Action.PROMOTE, at(2026, 2, 1)).allowed


def test_a_correcting_switch_that_repeats_an_earlier_key_is_recorded(store):
    """Issue 8: the unique key (councillor, flag, at, new) with ON CONFLICT DO NOTHING
    silently dropped a real switch that repeated an earlier row's key. Here the clock does
    not move between writes (a coarse clock, or writes within one tick): after the switch
    at the window's start (caught up), the flag goes no -> yes, yes -> no, no -> yes at
    the same instant, and all three are recorded."""
    nottinghamshire(store)
    add_election(store, "local.selston.2028-04-20", nation="ENG")
    t = at(2028, 4, 1, 12)
    reconcile(set_clock(store, t))
    cancel_election(store, "local.selston.2028-04-20")  # window ends at t: flags back
    add_election(store, "local.ashfield.2028-04-20", nation="ENG")  # covers Selston at t
    cancel_election(store, "local.ashfield.2028-04-20")
    jane = [
        (h.old, h.new, h.at)
        for h in history(store, "selston/jane-doe")
        if h.flag == "may_promote" and h.at == t
    ]
    assert jane == [(False, True, t), (True, False, t), (False, True, t)]
    assert check_invariants(store).rows == 5 * 4  # five flags, each switched four times
    assert allowed(store, "selston/jane-doe", t)


def test_an_audit_row_is_written_only_for_a_change_the_store_made(store):
    """A flag changed behind the lock's back (here by hand, after the statement that staged
    a council's changes read the flags) makes the reconcile refuse and roll back: no audit
    row claims a switch from a value the flag did not have."""
    import sqlalchemy as sa

    from purdah.errors import ConcurrentWrite
    from purdah.models import councillor_t, flag_change_t
    from purdah.services import reconcile as reconcile_module

    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG")
    set_clock(store, START_2026)
    hook = "_switch"
    original = getattr(reconcile_module, hook)

    def meddle(conn, *args):  # another writer, between read and write
        conn.execute(sa.update(councillor_t).values(may_promote=False))
        return original(conn, *args)

    setattr(reconcile_module, hook, meddle)
    try:
        with pytest.raises(ConcurrentWrite, match="flags changed under this write"):
            reconcile(store)
    finally:
        setattr(reconcile_module, hook, original)
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(flag_change_t)).scalar() == 0
    assert len(reconcile(store).changes) == 5
    check_invariants(store)


def test_every_write_reads_the_clock_once_it_holds_the_lock(store):
    """Writes decide at and stamp the instant read after taking the lock, never one the
    caller chose: no service that writes takes `now`."""
    import inspect

    from purdah.services import elections, feeds, importer, register
    from purdah.services import history as history_module

    writers = [
        elections.add_election,
        elections.cancel_election,
        elections.move_election,
        elections.set_notice,
        elections.set_referendum,
        elections.add_non_working_day,
        register.add_council,
        register.add_councillor,
        register.import_councils,
        register.import_councillors,
        history_module.exempt,
        importer.import_sources,
        feeds.add_feed,
        feeds.refresh_feed,
        feeds.refresh_due,
        feeds.remove_feed,
        reconcile,
    ]
    assert [w.__name__ for w in writers if "now" in inspect.signature(w).parameters] == []
    reads = []
    store.clock = lambda: reads.append(len(reads)) or SETUP
    with store.write() as (_conn, now):
        assert now == SETUP and reads == [0]


def test_reconcile_dry_run_at_any_instant_writes_nothing(store):
    from purdah.services.reconcile import last_run, reconcile_dry_run

    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG")
    reconcile(set_clock(store, at(2026, 3, 1)))
    for when in (START_2026, at(9999, 12, 31), at(2020, 1, 1)):
        result = reconcile_dry_run(store, when)
        assert result.dry_run and result.at == when
    assert len(reconcile_dry_run(store, START_2026).changes) == 5
    assert history(store) == []
    with store.read() as conn:
        assert last_run(conn) == at(2026, 3, 1)
    assert all(not r.mismatch for r in status(store, at(2026, 3, 1)))


@pytest.mark.parametrize("ref", ["selston/nobody", "nowhere/jane-doe"])
def test_unknown_councillor_or_council(store, ref):
    from purdah.errors import NotFound

    nottinghamshire(store)
    with pytest.raises(NotFound):
        check(store, ref, Action.PROMOTE, SETUP)
