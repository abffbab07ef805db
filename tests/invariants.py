"""What the audit log and the stored flags must satisfy after any sequence of writes, by
any number of processes (the property and concurrency tests and test_flags use it):

1. per councillor and flag, the audit rows in the order written form a chain: the first
   starts from the flag's value at registration, each starts where the previous ended,
   and the last ends at the stored flag (so no change was lost, doubled or invented, and
   replaying the history gives the stored flags);
2. `recorded_at` never goes back, per councillor, in the order written;
3. the stored flags are the decision at the instant of the last reconcile;
4. every audit row has exactly one outbox event (flag.changed) with the same details,
   in the same order (written in the same transaction: none lost, none invented).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from purdah.models import councillor_t, flag_change_t
from purdah.services.reconcile import last_run
from purdah.services.status import status

P = councillor_t.c
F = flag_change_t.c


@dataclass
class Audit:
    rows: int
    councillors: int
    changed: int  # councillor-flags whose stored value differs from registration


def check_invariants(store) -> Audit:
    with store.read() as conn:
        people = {
            row.id: row
            for row in conn.execute(
                sa.select(P.id, P.agreed_may_post, P.may_post, P.may_promote, P.council_id)
            )
        }
        rows = conn.execute(sa.select(flag_change_t).order_by(F.id)).all()
        mark = last_run(conn)
    chains: dict[tuple[int, str], list] = defaultdict(list)
    recorded: dict[int, list] = defaultdict(list)
    for row in rows:
        chains[(row.councillor_id, row.flag)].append(row)
        recorded[row.councillor_id].append(row.recorded_at)
    changed = 0
    for pid, person in people.items():
        for flag, initial, stored in (
            ("may_post", person.agreed_may_post, person.may_post),
            ("may_promote", True, person.may_promote),
        ):
            value = bool(initial)
            for row in chains.get((pid, flag), []):
                assert row.old == value and row.new != row.old, (
                    f"councillor {pid} {flag}: audit row {row.id} says {row.old} -> {row.new} "
                    f"but the flag was {value}"
                )
                value = row.new
            assert value == bool(stored), (
                f"councillor {pid} {flag}: the history ends at {value}, the stored flag is {stored}"
            )
            changed += value != bool(initial)
        times = recorded.get(pid, [])
        assert times == sorted(times), f"councillor {pid}: recorded_at goes back: {times}"
    if mark is not None and people:
        for row in status(store, mark):
            stored = (row.stored_may_post, row.stored_may_promote)
            decided = (row.may_post.allowed, row.may_promote.allowed)
            assert stored == decided, (
                f"{row.councillor}: stored {stored}, the decision at the last reconcile "
                f"({mark.isoformat()}) is {decided}"
            )
    check_outbox(store, rows)
    return Audit(len(rows), len(people), changed)


def check_outbox(store, audit_rows) -> None:
    from purdah.models import outbox_event_t

    EV = outbox_event_t.c
    with store.read() as conn:
        events = conn.execute(
            sa.select(EV.audit_id, EV.councillor_id, EV.flag, EV.old, EV.new, EV.at, EV.recorded_at)
            .where(EV.kind == "flag.changed")
            .order_by(EV.id)
        ).all()
    live = {row.id for row in audit_rows}
    # An event outlives an audit row deleted with its councillor (a council removed).
    events = [e for e in events if e.audit_id in live]
    expected = [
        (r.id, r.councillor_id, r.flag, r.old, r.new, r.at, r.recorded_at) for r in audit_rows
    ]
    assert [tuple(e) for e in events] == expected, (
        f"{len(expected)} audit rows but {len(events)} flag.changed events match them"
    )
