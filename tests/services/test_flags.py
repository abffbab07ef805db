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
from tests.services.helpers import SETUP, nottinghamshire

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
    add_election(store, "local.ashfield.2026-05-07", nation="ENG", now=SETUP)
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
    add_election(store, "local.ashfield.2026-05-07", nation="ENG", now=SETUP)
    before = reconcile(store, START_2026 - SECOND)
    assert before.changes == []
    started = reconcile(store, START_2026)
    assert {(c.flag, c.new) for c in started.changes} == {
        ("may_post", False),
        ("may_promote", False),
    }
    # Jane (may post) and Pat (may post) lose both flags; Sam (not agreed) only promote.
    assert len(started.changes) == 5
    assert all(c.at == START_2026 for c in started.changes)
    assert reconcile(store, START_2026).changes == []
    assert len(history(store)) == 5
    ended = reconcile(store, END_2026)
    assert len(ended.changes) == 5 and all(c.new for c in ended.changes)
    assert reconcile(store, END_2026).changes == []
    rows = {r.councillor: r for r in status(store, END_2026)}
    assert not any(r.mismatch for r in rows.values())
    assert rows["gedling/ann-other"].may_promote.allowed  # Gedling is not in Ashfield


def test_downtime_across_a_boundary_is_caught_up_with_the_right_instants(store):
    nottinghamshire(store)
    add_election(store, "local.ashfield.2026-05-07", nation="ENG", now=SETUP)
    reconcile(store, at(2026, 3, 1))
    # Down from 1 March to 1 June: both boundaries missed.
    result = reconcile(store, at(2026, 6, 1))
    assert result.replayed == 2
    jane = [h for h in history(store, "selston/jane-doe") if h.flag == "may_promote"]
    assert [(h.at, h.new) for h in jane] == [(START_2026, False), (END_2026, True)]
    assert all(h.recorded_at == at(2026, 6, 1) for h in jane)
    assert not check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 6, 1)).mismatch


def test_check_is_right_even_if_reconcile_never_ran(store):
    nottinghamshire(store)
    add_election(store, "local.ashfield.2026-05-07", nation="ENG", now=SETUP)
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
        add_election(store, election_id, nation=nation, now=SETUP)
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
    add_election(store, "pcc.nottinghamshire.2028-05-04", now=SETUP)
    # A parish by-election whose window overlaps the PCC window and ends later.
    add_election(store, "local.selston.underwood.by.2028-05-18", nation="ENG", now=SETUP)
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
    add_election(store, "local.selston.underwood.by.2026-06-18", nation="ENG", now=SETUP)
    inside = at(2026, 6, 1)
    assert not allowed(store, "selston/jane-doe", inside)  # ward Underwood
    assert allowed(store, "selston/sam-roe", inside)  # ward Selston


def test_default_scope_is_the_whole_council(store):
    nottinghamshire(store)
    add_election(store, "local.selston.underwood.by.2026-06-18", nation="ENG", now=SETUP)
    assert not allowed(store, "selston/sam-roe", at(2026, 6, 1))


def test_cancelled_poll_releases_only_when_no_other_window_covers(store):
    nottinghamshire(store)
    add_election(store, "pcc.nottinghamshire.2028-05-04", now=SETUP)
    add_election(store, "local.selston.2028-04-20", nation="ENG", now=SETUP)
    cancelled_at = at(2028, 4, 1, 12)
    result = cancel_election(store, "local.selston.2028-04-20", now=cancelled_at)
    assert result.election.status == "cancelled"
    # The PCC window still covers Selston: no flag comes back.
    assert not allowed(store, "selston/jane-doe", cancelled_at + SECOND)
    window = next(w for w in list_windows(store, "selston") if w.election_id.startswith("local"))
    assert window.end == cancelled_at
    assert allowed(store, "selston/jane-doe", at(2028, 5, 4, 22))


def test_cancelled_before_its_window_starts_leaves_no_window(store):
    nottinghamshire(store)
    add_election(store, "local.selston.2028-04-20", nation="ENG", now=SETUP)
    cancel_election(store, "local.selston.2028-04-20", now=at(2028, 1, 10))
    assert list_windows(store, "selston") == []


def test_moved_poll_restricts_the_gap(store):
    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    move_election(store, "local.selston.2026-05-07", date(2026, 6, 18), now=at(2026, 4, 20))
    window = next(iter(list_windows(store, "selston")))
    assert window.status == "moved"
    assert window.start == START_2026  # the original start: restricted all along
    assert window.end == at(2026, 6, 18, 22)
    assert not allowed(store, "selston/jane-doe", at(2026, 5, 20))  # the gap


def test_actual_notice_moves_the_start(store):
    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    set_notice(store, "local.selston.2026-05-07", date(2026, 3, 20), now=SETUP)
    answer = check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 3, 20))
    assert not answer.allowed
    assert answer.decision.windows[0].actual_notice
    assert answer.decision.windows[0].start_basis == "actual notice of election"


def test_day_of_mourning_moves_every_affected_window(store):
    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    add_non_working_day(store, date(2026, 3, 31), "national day of mourning", now=SETUP)
    # Latest notice moves from Mon 30 March to Fri 27 March.
    assert not allowed(store, "selston/jane-doe", at(2026, 3, 27))


def test_exemption_allows_one_action_for_its_period_and_is_audited(store):
    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    start, end = at(2026, 4, 10, 9), at(2026, 4, 12, 18)
    result = exempt(
        store,
        "selston/mayor",
        action=Action.POST,
        start=start,
        end=end,
        reason="civic mayor: non-political Easter notice",
        granted_by="Clerk",
        now=at(2026, 4, 10, 9),
    )
    inside = check(store, "selston/mayor", Action.POST, start)
    assert inside.allowed and inside.decision.exemption.id == result.id
    assert not check(store, "selston/mayor", Action.PROMOTE, start).allowed  # post only
    assert not check(store, "selston/mayor", Action.POST, end).allowed
    assert not check(store, "selston/jane-doe", Action.POST, start).allowed  # only her
    changes = history(store, "selston/mayor")
    assert any("exemption #" in h.cause and h.new for h in changes)
    reconcile(store, end)
    after = history(store, "selston/mayor")
    assert after[-1].flag == "may_post" and not after[-1].new and after[-1].at == end


def test_councillor_not_agreed_may_never_post(store):
    nottinghamshire(store)
    answer = check(store, "selston/sam-roe", Action.POST, at(2026, 2, 1))
    assert not answer.allowed
    assert "not agreed" in answer.decision.cause
    assert check(store, "selston/sam-roe", Action.PROMOTE, at(2026, 2, 1)).allowed


def test_a_repeated_audit_row_is_ignored(store):
    """What a concurrent second reconcile would write: the same change again."""
    import sqlalchemy as sa

    from purdah.models import flag_change_t
    from purdah.services.reconcile import _insert_ignoring_duplicates

    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    reconcile(store, START_2026)
    with store.read() as conn:
        first = conn.execute(sa.select(flag_change_t).order_by(flag_change_t.c.id)).first()
        count = conn.execute(sa.select(sa.func.count()).select_from(flag_change_t)).scalar()
    again = {k: getattr(first, k) for k in ("councillor_id", "flag", "old", "new", "at")}
    again |= {"recorded_at": START_2026, "cause": "again", "actor": "second node"}
    with store.write() as conn:
        conn.execute(_insert_ignoring_duplicates(conn), [again, again])
    with store.read() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(flag_change_t)).scalar()
    assert count == 5 and after == count


@pytest.mark.parametrize("ref", ["selston/nobody", "nowhere/jane-doe"])
def test_unknown_councillor_or_council(store, ref):
    from purdah.errors import NotFound

    nottinghamshire(store)
    with pytest.raises(NotFound):
        check(store, ref, Action.PROMOTE, SETUP)
