"""May I promote this councillor now? The hot path: one SQL statement, then the pure
`decide`, and on SQLite not even that while the store is unchanged.

It answers from the windows as of WHEN, never from the switched flags, so it is right
even if the scheduler was down at a boundary; a stored flag that differs is reported as
a fault. It runs as plain SQL through `Store.query` (the standard library's sqlite3 on
SQLite, psycopg on PostgreSQL), so `purdah check` never imports SQLAlchemy or SQLModel
on the embedded store.

What one statement reads about a councillor (their row, their council's windows not yet
over, their exemptions) is a `_Subject`. Its answer is the same for every instant between
two consecutive instants at which anything it holds starts or ends (`_Subject.cuts`), so
each answer is worked out once per such interval and action and kept with the subject.
On SQLite subjects are kept in `Store.snapshot_cache`, which empties itself whenever the
store changes; on PostgreSQL a call reads afresh (one prepared statement), except in the
HTTP service, which keeps subjects under `Store.settled_version` (purdah.web.app).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
# One statement: the councillor, with each of their council's windows not over at :at
# (and its election's notice, poll day, title and council name, for the sentence) and when
# the stored flags were last reconciled; then, as rows of their own, the councillor's
# exemptions not over at :at.
_CHECK_SQL = f"""
SELECT p.id, p.name, p.ward, p.agreed_may_post, p.may_post, p.may_promote,
       (SELECT value FROM meta WHERE key = '{LAST_RECONCILE_KEY}'),
       e.election_id, w.start, w."end", w.ward, w.start_basis, w.end_basis,
       w.actual_notice, w.rule, w.notes, w.run_up_start, w.last_day, w.run_up_note, e.notice,
       w.watch_from, e.poll_date, ac.name, e.title,
       NULL, NULL, NULL, NULL, NULL, NULL
FROM councillor p
JOIN council c ON c.id = p.council_id
LEFT JOIN "window" w ON w.council_id = p.council_id AND w."end" > :at
LEFT JOIN election e ON e.id = w.election_pk
LEFT JOIN council ac ON ac.slug = e.area
WHERE c.slug = :council AND p.slug = :slug AND p.left_at IS NULL
UNION ALL
SELECT p.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       x.id, x.action, x.start, x."end", x.reason, x.granted_by
FROM exemption x
JOIN councillor p ON p.id = x.councillor_id
JOIN council c ON c.id = p.council_id
WHERE c.slug = :council AND p.slug = :slug AND p.left_at IS NULL AND x."end" > :at
"""
_LAST_RUN_SQL = f"SELECT value FROM meta WHERE key = '{LAST_RECONCILE_KEY}'"
# At most this many subjects are kept per thread (the oldest read goes first).
CACHED_SUBJECTS = 4096


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
    # Kept with the verdict this answer was made from, and shared by every answer from it
    # (the same councillor, action and interval while the store is unchanged): a front
    # end keeps here what it derives from the answer but for `at` (its encoded JSON).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

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
    instant = at.astimezone(UTC)
    cache = store.snapshot_cache()
    subject = kept_subject(cache, ref, instant)
    if subject is None:
        subject = read_subject(store, ref, instant)
        keep_subject(cache, ref, subject)
    return answer(subject, action, at, now)


def kept_subject(cache: dict[Any, Any] | None, ref: str, instant: datetime) -> _Subject | None:
    """The subject kept in `cache` (`Store.snapshot_cache`) that answers for `instant`, if
    any: the check's part that never reads the store."""
    subject: _Subject | None = cache.get(ref) if cache is not None else None
    if subject is None or instant < subject.since:
        return None
    return subject


def read_subject(store: Store, ref: str, instant: datetime) -> _Subject:
    """What one statement says of the councillor `ref` at `instant` (a UTC instant)."""
    return _read(store, ref, instant)


def keep_subject(cache: dict[Any, Any] | None, ref: str, subject: _Subject) -> None:
    """Keep `subject` in `cache` under `ref` as asked for (the oldest goes beyond
    CACHED_SUBJECTS)."""
    if cache is not None:
        if len(cache) >= CACHED_SUBJECTS:
            del cache[next(iter(cache))]
        cache[ref] = subject


def answer(subject: _Subject, action: Action, at: datetime, now: datetime | None) -> CheckAnswer:
    """The check's answer from a subject that answers for `at` (no read)."""
    instant = at.astimezone(UTC)
    key = bisect_right(subject.cuts, instant) * 2 + (action is Action.POST)
    verdict = subject.verdicts.get(key)
    if verdict is None:
        verdict = subject.verdicts[key] = (*_verdict(subject, action, instant), {})
    decision, change, sentence_text, warnings, memo = verdict
    return CheckAnswer(
        subject.ref,
        subject.name,
        action,
        at,
        decision,
        subject.may_post if action is Action.POST else subject.may_promote,
        stored_flags_apply(subject.last_run, at, now),
        warnings,
        subject.agreed,
        change,
        sentence_text,
        memo,
    )


@dataclass
class _Subject:
    """One councillor as one statement read them at `since`: their row, their council's
    windows not over then (each with the instant from which the check reads it whole, as
    (watch_from, span), in start order) and their exemptions not over then. Good for any
    instant from `since` while the store is unchanged."""

    ref: str
    name: str
    ward: str | None
    agreed: bool
    may_post: bool
    may_promote: bool
    last_run: datetime | None
    since: datetime
    windows: list[tuple[datetime, Span]]
    polls: dict[str, Polled]
    grants: list[Grant]
    # Every instant at which something above starts or ends, sorted: the answer is the
    # same between two consecutive ones (every comparison `_verdict` makes with the
    # instant is with one of them).
    cuts: list[datetime] = field(default_factory=list)
    # The verdicts worked out so far, by interval (the index of its end in `cuts`) and
    # action (see `check`).
    verdicts: dict[int, _Kept] = field(default_factory=dict)


_Verdict = tuple[Decision, datetime | None, str, tuple[RunUpWarning, ...]]
_Kept = tuple[Decision, datetime | None, str, tuple[RunUpWarning, ...], dict[Any, Any]]  # + memo


def _read(store: Store, ref: str, at: datetime) -> _Subject:
    council, slug = split_ref(ref)
    rows = store.query(_CHECK_SQL, {"at": at, "council": council, "slug": slug})
    head = next((r for r in rows if r[24] is None), None)
    if head is None:
        council_by_slug(store, council)  # NotFound if there is no such council
        raise NotFound(
            f"no councillor {slug!r} in council {council!r}: see "
            f"'purdah councillor list --council {council}'"
        )
    if store.sqlite_path is not None:
        return _subject(council, slug, rows, at)
    # Without a signal that the store is unchanged (PostgreSQL) every call reads; what is
    # worked out from the rows is kept by the rows themselves, the same rows giving the
    # same subject (the answer depends on nothing else but the instant).
    memo: dict[Any, _Subject] | None = getattr(_MEMO, "subjects", None)
    if memo is None:
        memo = _MEMO.subjects = {}
    key = (council, slug, tuple(rows))
    subject = memo.get(key)
    if subject is None:
        if len(memo) >= CACHED_SUBJECTS:
            del memo[next(iter(memo))]
        subject = memo[key] = _subject(council, slug, rows, at)
    return subject


_MEMO = threading.local()


def _subject(council: str, slug: str, rows: list[tuple[Any, ...]], at: datetime) -> _Subject:
    head = next(r for r in rows if r[24] is None)
    windows = sorted(
        ((as_instant(r[20]), _span(r)) for r in rows if r[24] is None and r[7] is not None),
        key=lambda pair: (pair[1].start, pair[1].election_id),
    )
    grants = sorted(
        (
            Grant(r[24], r[25], as_instant(r[26]), as_instant(r[27]), r[28], r[29])
            for r in rows
            if r[24] is not None
        ),
        key=lambda g: g.id,
    )
    polls = {
        r[7]: Polled(r[7], _day(r[21]), r[22], r[23] or "")
        for r in rows
        if r[24] is None and r[7] is not None
    }
    cuts = {t for g in grants for t in (g.start, g.end)}
    for watch_from, s in windows:
        cuts |= {watch_from, s.start, s.end}
        if s.run_up_start is not None:
            cuts.add(s.run_up_start)
    last_run = head[6]
    return _Subject(
        f"{council}/{slug}",
        head[1],
        head[2],
        bool(head[3]),
        bool(head[4]),
        bool(head[5]),
        datetime.fromisoformat(last_run) if last_run else None,
        at,
        windows,
        polls,
        grants,
        sorted(cuts),
    )


def _verdict(subject: _Subject, action: Action, at: datetime) -> _Verdict:
    """The answer at `at` but for what depends on `at` itself: the decision, when it next
    changes, the sentence and the run-up warnings. It compares `at` only with instants in
    `subject.cuts`."""
    ward = subject.ward
    # The windows not over at `at`; those read whole (from their watch_from, the start of
    # their run-up or of the window) decide the answer and its warnings.
    every = [s for _, s in subject.windows if s.end > at]
    watched = [s for watch_from, s in subject.windows if s.end > at and watch_from <= at]
    slug_of_ward = ward_slug(ward)
    # Exemptions matter only in a window of this councillor's.
    grants = (
        [g for g in subject.grants if g.end > at]
        if any(s.ward in (None, slug_of_ward) for s in every)
        else []
    )
    decision = decide(
        action,
        at,
        ward=ward,
        agreed_may_post=subject.agreed,
        spans=[s for s in watched if s.start <= at],
        grants=grants,
    )
    warnings = run_up_warnings(at, ward, [s for s in watched if s.start > at])
    change = next_change(action, at, decision.allowed, ward, subject.agreed, every, grants)
    text = sentence(action, decision, change, every, _Lookup(subject.polls), warnings, ward)
    return decision, change, text, warnings


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
    """An election's poll, for the sentence (every window is read whole)."""

    def __init__(self, polls: dict[str, Polled]) -> None:
        self.polls = polls

    def span(self, span: Span) -> Span:
        """The window with its notice date and last day, which the sentence names."""
        return span

    def poll(self, election_id: str) -> Polled:
        return self.polls.get(election_id) or Polled(election_id, None, None)


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
