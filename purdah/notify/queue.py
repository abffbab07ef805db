"""Planned notices into the ledger (and, once joined, the outbox), inside the planner's
write transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.models import mail_notice_t
from purdah.notify.plan import Notice, ledger_row


def enqueue(conn: Connection, now: datetime, notices: Sequence[Notice]) -> int:
    if not notices:
        return 0
    conn.execute(sa.insert(mail_notice_t), [ledger_row(n, now, None) for n in notices])
    return len(notices)
