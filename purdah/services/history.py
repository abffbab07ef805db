"""The audit log of flag changes, and exemptions (which write to it through reconcile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from purdah.decide import Action
from purdah.errors import InputError, NotFound
from purdah.models import council_t, councillor_t, exemption_t, flag_change_t
from purdah.outbox import events as outbox
from purdah.refs import split_ref
from purdah.services.listing import HistoryRow as HistoryRow  # its home is listing
from purdah.services.listing import history as history
from purdah.services.reconcile import ReconcileResult, reconcile_in
from purdah.store import Store

P = councillor_t.c
C = council_t.c
F = flag_change_t.c


def _require_councillor(conn: sa.engine.Connection, ref: str) -> int:
    council, slug = split_ref(ref)
    found = conn.execute(
        sa.select(P.id)
        .join_from(councillor_t, council_t, P.council_id == C.id)
        .where(C.slug == council, P.slug == slug)
    ).scalar()
    if found is None:
        raise NotFound(f"no councillor {ref!r} in the register: see 'purdah councillor list'")
    return int(found)


@dataclass(frozen=True)
class ExemptionResult:
    id: int
    councillor: str
    action: Action
    start: datetime
    end: datetime
    reconcile: ReconcileResult


def exempt(
    store: Store,
    ref: str,
    *,
    action: Action,
    start: datetime,
    end: datetime,
    reason: str,
    granted_by: str,
) -> ExemptionResult:
    """Record a time-limited exception (civic mayor's non-political content, an emergency)."""
    if end <= start:
        raise InputError(f"--to {end.isoformat()} is not after --from {start.isoformat()}")
    if not reason.strip() or not granted_by.strip():
        raise InputError("an exemption needs a --reason and who granted it (--granted-by)")
    with store.write() as (conn, now):
        pid = _require_councillor(conn, ref)
        new_id = conn.execute(
            sa.insert(exemption_t).values(
                councillor_id=pid,
                action=action.value,
                start=start,
                end=end,
                reason=reason.strip(),
                granted_by=granted_by.strip(),
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        outbox.record_exemption(conn, now, int(new_id))
        result = reconcile_in(conn, now)
    return ExemptionResult(int(new_id), ref, action, start, end, result)
