"""May I promote this councillor now? The hot path: one SQL statement (plus one for
exemptions only when a window is in force), then the pure `decide`.

It answers from the windows as of WHEN, never from the switched flags, so it is right
even if the scheduler was down at a boundary; a stored flag that differs is reported as
a fault. It runs as plain SQL through `Store.query` (the standard library's sqlite3 on
SQLite), so `purdah check` never imports SQLAlchemy or SQLModel on the embedded store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from purdah.clock import LONDON
from purdah.decide import (
    Action,
    Decision,
    Grant,
    RunUpWarning,
    Span,
    decide,
    run_up_warnings,
    ward_slug,
)
from purdah.errors import NotFound
from purdah.queries import council_by_slug
from purdah.refs import split_ref
from purdah.store import LAST_RECONCILE_KEY, Store, as_instant

# "window" and "end" are keywords in SQLite and PostgreSQL: always quoted.
# One statement: the councillor; the council's windows in force or in their run-up (they
# decide the answer and its warnings), those starting before the last of them in force
# ends, and the next to start (they say when the answer next changes; with :whole = 1
# every window not yet over, for the rare answer that needs more, see `_complete`); each
# election's council and poll day (for the sentence); whether the councillor holds an
# exemption; and when the stored flags were last reconciled (to know whether they should
# agree with the answer).
_CHECK_SQL = f"""
SELECT p.id, p.name, p.ward, p.agreed_may_post, p.may_post, p.may_promote,
       (SELECT value FROM meta WHERE key = '{LAST_RECONCILE_KEY}'),
       e.election_id, w.start, w."end", w.ward, w.start_basis, w.end_basis,
       w.actual_notice, w.rule, w.notes, w.run_up_start, w.last_day, w.run_up_note, e.notice,
       w.watch_from, e.poll_date, ac.name, e.title,
       EXISTS (SELECT 1 FROM exemption x WHERE x.councillor_id = p.id AND x."end" > :at)
FROM councillor p
JOIN council c ON c.id = p.council_id
LEFT JOIN "window" w ON w.council_id = p.council_id AND w."end" > :at AND (
    :whole = 1 OR w.watch_from <= :at
    OR w.start <= (SELECT max(v."end") FROM "window" v
                   WHERE v.council_id = p.council_id AND v.start <= :at AND v."end" > :at)
    OR w.start = (SELECT min(v.start) FROM "window" v
                  WHERE v.council_id = p.council_id AND v.start > :at))
LEFT JOIN election e ON e.id = w.election_pk
LEFT JOIN council ac ON ac.slug = e.area
WHERE c.slug = :council AND p.slug = :slug AND p.left_at IS NULL
ORDER BY w.start, e.election_id
"""
_GRANTS_SQL = """
SELECT id, action, start, "end", reason, granted_by FROM exemption
WHERE councillor_id = :pid AND "end" > :at ORDER BY id
"""
_LAST_RUN_SQL = f"SELECT value FROM meta WHERE key = '{LAST_RECONCILE_KEY}'"


@dataclass(frozen=True)
class CheckAnswer:
    councillor: str
    name: str
    action: Action
    at: datetime
    decision: Decision
    stored_flag: bool
    comparable: bool = True  # whether the stored flag is meant to hold at `at`
    # The run-up before a window the council's policy does not restrict in ("yes, but").
    warnings: tuple[RunUpWarning, ...] = ()
    # The councillor's own agreement to post on the council's accounts, whatever the action.
    agreed_may_post: bool = False
    # When the answer next changes (None: not while the store stays as it is), and the
    # window that changes it, for the sentence.
    next_change: datetime | None = None
    sentence: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def mismatch(self) -> bool | None:
        """The stored flag disagrees with the answer: a fault (None: not comparable)."""
        if not self.comparable:
            return None
        return self.stored_flag != self.decision.allowed


def stored_flags_apply(last_run: datetime | None, at: datetime, now: datetime | None) -> bool:
    """The stored flags claim to be right from the last reconcile until now; an answer for
    another instant cannot be compared with them. Without `now`, always compare."""
    if now is None:
        return True
    return last_run is not None and last_run <= at <= now


def last_reconcile(store: Store) -> datetime | None:
    rows = store.query(_LAST_RUN_SQL, {})
    return datetime.fromisoformat(rows[0][0]) if rows else None


def check(
    store: Store, ref: str, action: Action, at: datetime, now: datetime | None = None
) -> CheckAnswer:
    """The answer at `at`. Give `now` (the real clock) to compare with the stored flag only
    where it should hold."""
    council, slug = split_ref(ref)
    params = {"at": at, "council": council, "slug": slug, "whole": 0}
    rows = store.query(_CHECK_SQL, params)
    if not rows:
        council_by_slug(store, council)  # NotFound if there is no such council
        raise NotFound(
            f"no councillor {slug!r} in council {council!r}: see "
            f"'purdah councillor list --council {council}'"
        )
    pid, name, ward, agreed, may_post, may_promote, last_run = rows[0][:7]
    granted = bool(rows[0][24])
    watched, every, by_election = _spans(rows, at)
    if not _complete(every, at, ward, granted):
        rows = store.query(_CHECK_SQL, params | {"whole": 1})
        watched, every, by_election = _spans(rows, at)
    spans = [s for s in watched if s.start <= at]
    warnings = run_up_warnings(at, ward, [s for s in watched if s.start > at])
    grants = []
    slug_of_ward = ward_slug(ward)
    # Exemptions matter only in a window, and are read only when there are any.
    if granted and any(s.ward in (None, slug_of_ward) for s in every):
        grants = [
            Grant(g[0], g[1], as_instant(g[2]), as_instant(g[3]), g[4], g[5])
            for g in store.query(_GRANTS_SQL, {"pid": pid, "at": at})
        ]
    decision = decide(
        action, at, ward=ward, agreed_may_post=bool(agreed), spans=spans, grants=grants
    )
    change = next_change(action, at, decision.allowed, ward, bool(agreed), every, grants)
    stored = bool(may_post if action is Action.POST else may_promote)
    last = datetime.fromisoformat(last_run) if last_run else None
    comparable = stored_flags_apply(last, at, now)
    return CheckAnswer(
        f"{council}/{slug}",
        name,
        action,
        at,
        decision,
        stored,
        comparable,
        warnings,
        bool(agreed),
        change,
        sentence(action, decision, change, every, _Lookup(by_election), warnings, ward),
    )


def _spans(
    rows: list[tuple[Any, ...]], at: datetime
) -> tuple[list[Span], list[Span], dict[str, tuple[Any, ...]]]:
    """The windows in force or in their run-up, read whole; and every window read, a later
    one only for when it starts and ends and for whom (read whole if the sentence names
    it); and each election's row."""
    watched: list[Span] = []
    every: list[Span] = []
    by_election: dict[str, tuple[Any, ...]] = {}
    for r in rows:
        if r[7] is None:
            continue
        by_election[r[7]] = r
        if as_instant(r[20]) <= at:
            span = _span(r)
            watched.append(span)
        else:
            span = Span(r[7], as_instant(r[8]), as_instant(r[9]), r[10])
        every.append(span)
    return watched, every, by_election


def _complete(spans: list[Span], at: datetime, ward: str | None, granted: bool) -> bool:
    """Whether the windows read are enough to say when the answer next changes: true
    unless an exemption is held, a window in force leaves this ward out, the next window
    to start is not this ward's, or a window read runs on past the end of those in force
    (so a chain of windows may continue beyond what was read)."""
    if not spans:
        return True
    if granted:
        return False
    live = [s for s in spans if s.start <= at]
    if live:
        if not all(s.covers(at, ward) for s in live):
            return False
        last = max(s.end for s in live)
        return not any(s.end > last for s in spans if s.start <= last)
    first = min(s.start for s in spans if s.start > at) if spans else None
    return first is None or any(s.start == first and s.covers(first, ward) for s in spans)


def _span(r: tuple[Any, ...]) -> Span:
    return Span(
        r[7],
        as_instant(r[8]),
        as_instant(r[9]),
        r[10],
        r[11],
        r[12],
        bool(r[13]),
        r[14],
        r[15],
        as_instant(r[16]) if r[16] is not None else None,
        _day(r[17]),
        r[18] or "",
        _day(r[19]),
    )


class _Lookup:
    """An election's whole window and its poll, read from the check's rows when needed."""

    def __init__(self, rows: dict[str, tuple[Any, ...]]) -> None:
        self.rows = rows

    def span(self, span: Span) -> Span:
        """The window with its notice date and last day, which the sentence names."""
        if span.start_basis:  # read whole already
            return span
        r = self.rows.get(span.election_id)
        if r is None:
            return span
        return Span(
            span.election_id,
            span.start,
            span.end,
            span.ward,
            last_day=_day(r[17]),
            notice=_day(r[19]),
        )

    def poll(self, election_id: str) -> Polled:
        r = self.rows.get(election_id)
        if r is None:
            return Polled(election_id, None, None)
        return Polled(election_id, _day(r[21]), r[22], r[23] or "")


@dataclass(frozen=True)
class Polled:
    """What the sentence says about an election: its council's name and polling day."""

    election_id: str
    poll_date: date | None
    council_name: str | None
    title: str = ""

    def words(self) -> str:
        """The Nottinghamshire County Council election on Thursday 3 May 2029: the event's
        title where it names an election, else the council's name for its own poll, else
        the kind of poll (the id) for the area."""
        when = f" on {long_day(self.poll_date)}" if self.poll_date else ""
        kind = self.election_id.split(".", 1)[0]
        by = ".by." in self.election_id
        title = self.title.strip()
        if title and ("election" in title.lower() or "referendum" in title.lower()):
            return f"the {title}{when}"
        if kind == "local" and self.council_name:
            return f"the {self.council_name} {'by-election' if by else 'election'}{when}"
        if kind == "parl" and not by:
            return f"the UK general election{when}"
        label = _KINDS.get(kind, "election")
        return f"the {label} {self.election_id}{when}"


# How the sentence names a poll that is not a council's own and has no title.
_KINDS = {
    "local": "local election",
    "parl": "parliamentary by-election",
    "pcc": "police and crime commissioner election",
    "mayor": "mayoral election",
    "gla": "London Assembly election",
    "sp": "Scottish Parliament election",
    "senedd": "Senedd election",
    "nia": "Northern Ireland Assembly election",
    "ref": "referendum",
}


def next_change(
    action: Action,
    at: datetime,
    allowed: bool,
    ward: str | None,
    agreed_may_post: bool,
    spans: Sequence[Span],
    grants: Sequence[Grant],
) -> datetime | None:
    """The first instant after `at` at which the answer differs from `allowed`: across
    overlapping and back-to-back windows (a restriction that runs on into the next window
    has not ended) and exemptions. None when nothing stored changes it."""
    boundaries = sorted(
        {t for s in spans for t in (s.start, s.end) if t > at}
        | {t for g in grants for t in (g.start, g.end) if t > at}
    )
    for t in boundaries:
        verdict = decide(
            action, t, ward=ward, agreed_may_post=agreed_may_post, spans=spans, grants=grants
        )
        if verdict.allowed != allowed:
            return t
    return None


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_day(value: date) -> str:
    """Thursday 3 May 2029 (English names whatever the locale)."""
    return f"{_DAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def day_month_year(value: date) -> str:
    """27 March 2029."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def clock_words(instant: datetime, poll_date: date | None = None) -> str:
    """22:00 on polling day; 00:00 on Tuesday 27 March 2029."""
    local = instant.astimezone(LONDON)
    day = "polling day" if poll_date == local.date() else long_day(local.date())
    return f"{local.hour:02d}:{local.minute:02d} on {day}"


def sentence(
    action: Action,
    decision: Decision,
    change: datetime | None,
    spans: Sequence[Span],
    lookup: _Lookup,
    warnings: Sequence[RunUpWarning] = (),
    ward: str | None = None,
) -> str:
    """The answer in one plain-English sentence, e.g. "No: the Nottinghamshire County
    Council election on Thursday 3 May 2029 (notice of election 27 March 2029);
    restricted until 22:00 on polling day"."""

    def poll_of(span: Span) -> Polled:
        return lookup.poll(span.election_id)

    def about(span: Span) -> str:
        span = lookup.span(span)
        words = poll_of(span).words()
        if span.notice is not None:
            return f"{words} (notice of election {day_month_year(span.notice)})"
        if span.last_day is not None:
            return f"{words} (notice of election due by {day_month_year(span.last_day)})"
        return words

    ending = spans_ending_at(spans, change)
    named = {s.election_id for s in decision.windows}
    # "on polling day" only for a poll the sentence names; a window that runs on from
    # one named (overlapping, or back to back) is named where it ends.
    until_day = None
    later = ""
    if ending is not None:
        if ending.election_id in named:
            until_day = poll_of(ending).poll_date
        else:
            later = f", when the window for {poll_of(ending).words()} ends"
    if not decision.allowed:
        if not decision.agreed:
            text = "No: the council has not agreed that this councillor may post on its accounts"
            if decision.windows:
                text += "; and " + "; ".join(about(s) for s in decision.windows)
            return text
        text = "No: " + " and ".join(about(s) for s in decision.windows)
        if change is None:
            return text + "; restricted until the window is changed"
        return text + f"; restricted until {clock_words(change, until_day)}{later}"
    if decision.exemption is not None:
        text = f"Yes, by exemption #{decision.exemption.id} ({decision.exemption.reason})"
        if change is not None:
            text += f"; restricted again from {clock_words(change)}"
        return text
    text = "Yes: no pre-election window is in force"
    if change is not None:
        starting = next((s for s in spans if s.start == change and s.covers(change, ward)), None)
        which = f" for {about(starting)}" if starting is not None else ""
        verb = "may not post" if action is Action.POST else "restricted"
        text += f"; {verb} from {clock_words(change)}{which}"
    for warning in warnings:  # a planned notice is the start just given
        if warning.kind != "notice-planned" or change is None:
            text += f"; but {warning.message}"
    return text


def spans_ending_at(spans: Sequence[Span], instant: datetime | None) -> Span | None:
    return next((s for s in spans if s.end == instant), None)


def _day(value: object) -> date | None:
    """A date read with plain SQL: SQLite text or a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
