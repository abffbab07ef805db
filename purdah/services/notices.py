"""Remind the clerk: coming polls whose notice of election date is not recorded.

Until the date is recorded, a council under the run-up policy restricts from the run-up
(RUN_UP_WORKING_DAYS working days before the statutory last day for the notice), and one
under another policy answers "yes, but" in those days. Recording the date, actual or
planned, ends the guess. `purdah notices` lists them; `run_ups_begun` is the check
`purdah doctor` makes (a run-up has begun and no notice is recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.models import election_t, window_t
from purdah.services.windows import election_timetable, extra_days
from purdah.store import Store
from purdah.timetable import is_general_election, run_up_day

E = election_t.c
W = window_t.c
_INACTIVE = ("cancelled", "withdrawn")


@dataclass(frozen=True)
class NoticeDue:
    """A coming poll whose notice date (or, for a general election, announcement) is not
    recorded."""

    election_id: str
    poll_date: date
    rule: str
    run_up_start: date
    last_day: date
    dissolution: date | None
    general_election: bool
    begun: bool  # the run-up has begun at the instant asked about
    councils: int  # councils in the register whose windows this poll makes
    command: str  # the command that records the date


def notices_due(store: Store, at: datetime) -> list[NoticeDue]:
    """Every coming poll (polling day not before `at`'s date) without a notice date
    recorded, soonest run-up first. A general election is listed until its announcement
    or notice is recorded. Polls without a notice of election (referendums) are left out."""
    today = at.astimezone(LONDON).date()
    councils = (
        sa.select(sa.func.count())
        .where(W.election_pk == E.id)
        .correlate(election_t)
        .scalar_subquery()
    )
    query = (
        sa.select(election_t, councils.label("councils"))
        .where(
            E.poll_date >= today,
            E.status.not_in(_INACTIVE),
            E.notice.is_(None),
            E.announced_at.is_(None),
        )
        .order_by(E.poll_date, E.election_id)
    )
    found = []
    with store.read() as conn:
        extra = extra_days(conn)
        for row in conn.execute(query):
            tt = election_timetable(row.election_id, row.nation, row.poll_date, extra)
            start = run_up_day(tt)
            if start is None or tt.notice_latest is None:
                continue
            ge = is_general_election(tt)
            verb = "announce" if ge else "set-notice"
            found.append(
                NoticeDue(
                    election_id=row.election_id,
                    poll_date=row.poll_date,
                    rule=tt.rule.key,
                    run_up_start=start,
                    last_day=tt.notice_latest,
                    dissolution=tt.dissolution,
                    general_election=ge,
                    begun=start <= today,
                    councils=int(row.councils or 0),
                    command=f"purdah election {verb} {row.election_id} "
                    + ("WHEN" if ge else "DATE"),
                )
            )
    found.sort(key=lambda n: (n.run_up_start, n.election_id))
    return found


def run_ups_begun(store: Store, at: datetime) -> list[NoticeDue]:
    """For `purdah doctor`: the polls whose run-up has begun at `at` with no notice date
    (or announcement) recorded, that make a window for at least one council."""
    return [n for n in notices_due(store, at) if n.begun and n.councils]
