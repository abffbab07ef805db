"""Outbox events are written with the changes they describe (both stores)."""

from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.models import flag_change_t, outbox_delivery_t, outbox_event_t
from purdah.outbox import events as outbox
from purdah.services.elections import add_election, cancel_election, move_election
from purdah.services.history import exempt
from purdah.services.reconcile import reconcile
from tests.services.helpers import SETUP, nottinghamshire, set_clock

APRIL = datetime(2026, 4, 1, tzinfo=LONDON)


def events(store, kind=None):
    query = sa.select(outbox_event_t).order_by(outbox_event_t.c.id)
    if kind:
        query = query.where(outbox_event_t.c.kind == kind)
    with store.read() as conn:
        return conn.execute(query).all()


def test_every_audit_row_has_one_event_with_its_details(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    result = reconcile(set_clock(store, APRIL))
    assert result.changes
    with store.read() as conn:
        audit = conn.execute(sa.select(flag_change_t).order_by(flag_change_t.c.id)).all()
    flags = events(store, outbox.FLAG_CHANGED)
    assert [e.audit_id for e in flags] == [a.id for a in audit]
    for event, row in zip(flags, audit, strict=True):
        assert (event.councillor_id, event.flag, event.old, event.new, event.reason) == (
            row.councillor_id,
            row.flag,
            row.old,
            row.new,
            row.cause,
        )
        assert event.at == row.at and event.recorded_at == row.recorded_at
        assert event.council_slug == "selston"
        assert event.election_ids == "local.ashfield.2026-05-07"


def test_a_reconcile_that_changes_nothing_records_no_event(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    reconcile(set_clock(store, APRIL))
    before = len(events(store))
    reconcile(set_clock(store, APRIL.replace(day=2)))
    assert len(events(store)) == before


def test_periods_added_moved_and_cancelled_are_events_per_council(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    added = events(store, outbox.PERIOD_ADDED)
    assert sorted(e.council_slug for e in added) == ["ashfield", "selston"]
    data = json.loads(added[0].data)
    assert data["election_id"] == "local.ashfield.2026-05-07"
    assert data["start"] == "2026-03-29T23:00:00Z" and data["end"] == "2026-05-07T21:00:00Z"

    move_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", date(2026, 5, 14))
    moved = events(store, outbox.PERIOD_MOVED)
    assert sorted(e.council_slug for e in moved) == ["ashfield", "selston"]
    data = json.loads(moved[0].data)
    assert data["previous"]["end"] == "2026-05-07T21:00:00Z"
    assert data["end"] == "2026-05-14T21:00:00Z"

    cancel_election(set_clock(store, SETUP), "local.ashfield.2026-05-07")
    cancelled = events(store, outbox.PERIOD_CANCELLED)
    assert sorted(e.council_slug for e in cancelled) == ["ashfield", "selston"]
    assert "cancelled" in cancelled[0].reason


def test_events_of_more_councils_than_one_in_list_holds_name_each_council(store, monkeypatch):
    """PostgreSQL refuses a statement of over 65,535 parameters: the slugs of the councils
    and councillors of a batch of events are read with `among`, whose ids beyond
    BOUND_AT_MOST are written into the statement (here beyond one)."""
    import purdah.queries

    monkeypatch.setattr(purdah.queries, "BOUND_AT_MOST", 1)
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "pcc.nottinghamshire.2028-05-04")
    added = events(store, outbox.PERIOD_ADDED)
    assert sorted(e.council_slug for e in added) == [
        "ashfield",
        "gedling",
        "nottinghamshire",
        "selston",
    ]


def test_an_exemption_is_an_event_for_its_councillor(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    exempt(
        set_clock(store, APRIL),
        "selston/mayor",
        action=Action.PROMOTE,
        start=APRIL,
        end=APRIL.replace(day=3),
        reason="civic duties",
        granted_by="clerk",
    )
    (event,) = events(store, outbox.EXEMPTION_ADDED)
    assert event.councillor_slug == "mayor" and event.reason == "civic duties"
    assert json.loads(event.data)["action"] == "promote"


def test_deliveries_fan_out_to_matching_webhooks_only(store):
    nottinghamshire(store)
    with store.write() as (conn, now):
        every = outbox.lane_for(conn, now, "webhook", "1")
        conn.execute(
            sa.text(
                "INSERT INTO webhook (url, secret_env, events, council_id, lane_id, created_at) "
                "VALUES ('http://127.0.0.1/a', 'S', '*', NULL, :lane, :now)"
            ),
            {"lane": every, "now": now},
        )
        flags_only = outbox.lane_for(conn, now, "webhook", "2")
        conn.execute(
            sa.text(
                "INSERT INTO webhook (url, secret_env, events, council_id, lane_id, created_at) "
                "SELECT 'http://127.0.0.1/b', 'S', ',flag.changed,', id, :lane, :now "
                "FROM council WHERE slug = 'ashfield'"
            ),
            {"lane": flags_only, "now": now},
        )
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    reconcile(set_clock(store, APRIL))
    with store.read() as conn:
        rows = conn.execute(
            sa.select(outbox_delivery_t.c.lane_id, outbox_event_t.c.kind).join(
                outbox_event_t, outbox_event_t.c.id == outbox_delivery_t.c.event_id
            )
        ).all()
    assert {kind for lane, kind in rows if lane == every} == {"period.added", "flag.changed"}
    assert len([1 for lane, _ in rows if lane == every]) == len(events(store))
    # Ashfield's only councillor-free events are periods: none of them is flag.changed.
    assert [kind for lane, kind in rows if lane == flags_only] == []
