"""The audit of the clerk's corrections (councillor edit/remove, election remove,
non-working-day remove): who, when (the real clock, read under the write lock), what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.models import clerk_change_t
from purdah.store import Store

K = clerk_change_t.c


@dataclass(frozen=True)
class ClerkChange:
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str


def record(
    conn: Connection, now: datetime, actor: str, action: str, subject: str, detail: str
) -> ClerkChange:
    """One audit row, in the same transaction as the change it describes."""
    conn.execute(
        sa.insert(clerk_change_t).values(
            at=now, actor=actor, action=action, subject=subject, detail=detail
        )
    )
    return ClerkChange(now, actor, action, subject, detail)


def clerk_changes(store: Store, subject: str | None = None) -> list[ClerkChange]:
    query = sa.select(K.at, K.actor, K.action, K.subject, K.detail).order_by(K.at, K.id)
    if subject:
        query = query.where(K.subject == subject)
    with store.read() as conn:
        return [ClerkChange(*row) for row in conn.execute(query)]
