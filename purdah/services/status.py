"""Everyone's effective flags at WHEN, next to the stored ones, streamed in register order.

A decision differs only by council, by the council's agreement that a councillor may
post, by ward where a window (or a run-up) is ward-scoped, and by exemption. So the
windows in force and in their run-up are read once (three small statements), every
distinct situation is decided once, and the register itself is one statement streamed in
batches: per councillor there is a lookup and a row, nothing else. It runs as plain SQL
through `Store.query`/`Store.stream` (sqlite3 on SQLite), so it never imports
SQLAlchemy or SQLModel on the embedded store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from purdah.decide import (
    Action,
    Decision,
    Grant,
    RunUpWarning,
    Span,
    decide,
    run_up_warnings,
)
from purdah.errors import NotFound
from purdah.paging import Cursor
from purdah.serialize import iso_instant
from purdah.services.check import last_reconcile, stored_flags_apply
from purdah.store import Store, as_instant

KIND = "status"
# A councillor's (may post, may promote, warnings); by agreement (index 0: not agreed).
Situation = tuple[Decision, Decision, tuple[RunUpWarning, ...]]
Both = tuple[Situation, Situation]


class StatusRow(NamedTuple):
    councillor: str
    name: str
    may_post: Decision
    may_promote: Decision
    stored_may_post: bool
    stored_may_promote: bool
    comparable: bool = True
    # The run-up before a window the council's policy does not restrict in ("yes, but").
    warnings: tuple[RunUpWarning, ...] = ()

    @property
    def mismatch(self) -> bool | None:
        if not self.comparable:
            return None
        return (self.stored_may_post, self.stored_may_promote) != (
            self.may_post.allowed,
            self.may_promote.allowed,
        )


# "window" and "end" are keywords in SQLite and PostgreSQL: always quoted. In force at
# :at (live = 1) or in their run-up before it (live = 0), in check's order.
_SPANS_SQL = """
SELECT w.council_id, e.election_id, w.start, w."end", w.ward, w.start_basis, w.end_basis,
       w.actual_notice, w.rule, w.notes, w.run_up_start, w.last_day, w.run_up_note, e.notice,
       CASE WHEN w.start <= :at THEN 1 ELSE 0 END
FROM "window" w JOIN election e ON e.id = w.election_pk
WHERE ((w.start <= :at AND w."end" > :at) OR (w.run_up_start <= :at AND w.start > :at)) {where}
ORDER BY w.council_id, w.start, e.election_id
"""
_GRANTS_SQL = """
SELECT x.councillor_id, x.id, x.action, x.start, x."end", x.reason, x.granted_by
FROM exemption x WHERE x.start <= :at AND x."end" > :at ORDER BY x.id
"""
_COUNCIL_SQL = "SELECT id FROM council WHERE slug = :slug"
# The register in its one stable order (council slug, councillor slug): the keyset the
# cursor continues from.
_PEOPLE_SQL = """
SELECT c.slug || '/' || p.slug, p.id, p.name, p.ward, p.agreed_may_post, p.may_post,
       p.may_promote, p.council_id
FROM councillor p JOIN council c ON c.id = p.council_id
WHERE p.left_at IS NULL {where}
ORDER BY c.slug, p.slug
"""
_PAGE_COUNCILS = "AND w.council_id IN (SELECT id FROM council WHERE slug >= :lo AND slug <= :hi)"
_AFTER = "AND c.slug >= :after_c AND (c.slug > :after_c OR p.slug > :after_p)"


class _Memo:
    """Text and date values converted once each (a national register repeats the same
    few window instants thousands of times)."""

    def __init__(self) -> None:
        self.instants: dict[Any, datetime] = {}
        self.days: dict[Any, date] = {}

    def instant(self, value: Any) -> datetime:
        found = self.instants.get(value)
        if found is None:
            found = self.instants[value] = as_instant(value)
        return found

    def maybe_instant(self, value: Any) -> datetime | None:
        return None if value is None else self.instant(value)

    def day(self, value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        found = self.days.get(value)
        if found is None:
            found = self.days[value] = date.fromisoformat(str(value)[:10])
        return found


class _Council:
    """What decides the councillors of one council at :at (a council not listed has no
    window in force nor in its run-up: everyone there has the `free` decisions)."""

    __slots__ = ("by_ward", "live", "run_ups")

    def __init__(self) -> None:
        self.live: list[Span] = []
        self.run_ups: list[Span] = []
        self.by_ward = False


class StatusPage:
    """The answers at `at`, streamed: iterate it once for the rows (in register order,
    after the cursor's row, at most `limit`); then `next` is the cursor of the page that
    follows, or None when the list is complete."""

    def __init__(
        self,
        store: Store,
        at: datetime,
        council: str | None = None,
        now: datetime | None = None,
        *,
        limit: int | None = None,
        after: tuple[str, str] | None = None,
    ) -> None:
        self.store = store
        self.at = at
        self.council = council
        self.limit = limit
        self.after = after
        self.next: str | None = None
        self.count = 0
        params: dict[str, Any] = {"at": at}
        where = ""
        if council:
            ids = store.query(_COUNCIL_SQL, {"slug": council.strip().lower()})
            if not ids:
                raise NotFound(f"no council {council!r} in the register: see 'purdah council list'")
            params["cid"] = ids[0][0]
            where = "AND w.council_id = :cid"
        self._memo = _Memo()
        self.grants: dict[int, list[Grant]] = {}
        for r in store.query(_GRANTS_SQL, {"at": at}):
            self.grants.setdefault(r[0], []).append(
                Grant(r[1], r[2], self._memo.instant(r[3]), self._memo.instant(r[4]), r[5], r[6])
            )
        self.comparable = stored_flags_apply(last_reconcile(store), at, now)
        # Equal situations share one decision object (and so one serialised form).
        self._decisions: dict[tuple[tuple[Span, ...], bool], tuple[Decision, Decision]] = {}
        self._warnings: dict[tuple[RunUpWarning, ...], tuple[RunUpWarning, ...]] = {}
        self.councils: dict[int, _Council] = {}
        # council id -> its situations when they do not depend on the ward (None when
        # they do); a council not listed has nothing in force nor in its run-up.
        self.shared: dict[int, Both | None] = {}
        self._where, self._spans_params = where, params
        if limit is None:  # every council's windows; a page reads only its councils'
            self._load(where, params)
        self.free = self._situation(_Council(), None)
        self._people_where = "AND p.council_id = :cid" if council else ""
        self._params = {k: v for k, v in params.items() if k == "cid"}

    def _load(self, where: str, params: dict[str, Any]) -> None:
        """The windows in force and in their run-up (of the councils `where` says), and
        each council's situations."""
        store = self.store
        memo = self._memo
        # Each council's windows as raw rows first: councils whose rows are equal (the
        # same elections with the same windows) share one situation, decided once.
        raw: dict[int, list[tuple[Any, ...]]] = {}
        for r in store.query(_SPANS_SQL.format(where=where), params):
            raw.setdefault(r[0], []).append(r[1:])
        spans: dict[tuple[Any, ...], Span] = {}

        def span(r: tuple[Any, ...]) -> Span:
            found = spans.get(r)
            if found is None:
                found = spans[r] = Span(
                    r[0],
                    memo.instant(r[1]),
                    memo.instant(r[2]),
                    r[3],
                    r[4],
                    r[5],
                    bool(r[6]),
                    r[7],
                    r[8],
                    memo.maybe_instant(r[9]),
                    memo.day(r[10]),
                    r[11],
                    memo.day(r[12]),
                )
            return found

        by_rows: dict[tuple[Any, ...], tuple[_Council, Both | None]] = {}
        for cid, rows in raw.items():
            key = tuple(rows)
            found = by_rows.get(key)
            if found is None:
                entry = _Council()
                for r in rows:
                    (entry.live if r[13] else entry.run_ups).append(span(r))
                entry.by_ward = any(s.ward is not None for s in (*entry.live, *entry.run_ups))
                found = by_rows[key] = (
                    entry,
                    None if entry.by_ward else self._situation(entry, None),
                )
            self.councils[cid], self.shared[cid] = found

    def _pair(
        self, live: tuple[Span, ...], agreed: bool, ward: str | None
    ) -> tuple[Decision, Decision]:
        """The decisions when exactly `live` is in force (every span of it covers `ward`;
        the same `live` for another ward gives the same decisions)."""
        key = (live, agreed)
        found = self._decisions.get(key)
        if found is None:
            found = self._decisions[key] = (
                decide(Action.POST, self.at, ward=ward, agreed_may_post=agreed, spans=live),
                decide(Action.PROMOTE, self.at, ward=ward, agreed_may_post=agreed, spans=live),
            )
            assert found[1].windows == live, (live, ward)
        return found

    def _situation(self, entry: _Council, ward: str | None) -> Both:
        """(post, promote, warnings) for agreed = 0 and 1, for a councillor without
        exemptions in `ward` (any ward when nothing of the council depends on it)."""
        live = tuple(s for s in entry.live if s.covers(self.at, ward))
        found = run_up_warnings(self.at, ward, entry.run_ups)
        warnings = self._warnings.setdefault(found, found)
        (no_post, no_promote), (post, promote) = (
            self._pair(live, False, ward),
            self._pair(live, True, ward),
        )
        return (no_post, no_promote, warnings), (post, promote, warnings)

    def _alone(self, entry: _Council | None, pid: int, ward: str | None, agreed: bool) -> Situation:
        spans = entry.live if entry else []
        grants = self.grants[pid]
        kwargs: dict[str, Any] = {
            "ward": ward,
            "agreed_may_post": agreed,
            "spans": spans,
            "grants": grants,
        }
        warnings = run_up_warnings(self.at, ward, entry.run_ups) if entry else ()
        return (
            decide(Action.POST, self.at, **kwargs),
            decide(Action.PROMOTE, self.at, **kwargs),
            warnings,
        )

    def __iter__(self) -> Iterator[StatusRow]:
        where = self._people_where
        params = dict(self._params)
        if self.after is not None:
            where += " " + _AFTER
            params["after_c"], params["after_p"] = self.after
        councils, grants, comparable = self.councils, self.grants, self.comparable
        shared, free = self.shared.get, self.free
        by_ward: dict[tuple[int, str | None], Both] = {}
        situation: Situation
        flag = (False, True)
        new = tuple.__new__
        limit = self.limit
        remaining = -1 if limit is None else limit
        last = ""
        batches: Any
        if limit is None:
            batches = self.store.stream(_PEOPLE_SQL.format(where=where), params)
        else:  # one page: its rows first, then only the windows of its councils
            page = self.store.query(
                _PEOPLE_SQL.format(where=where) + " LIMIT :n", params | {"n": limit + 1}
            )
            if page:
                bounds = {
                    "lo": page[0][0].split("/", 1)[0],
                    "hi": page[min(limit, len(page)) - 1][0].split("/", 1)[0],
                }
                self._load(self._where + " " + _PAGE_COUNCILS, self._spans_params | bounds)
                councils, shared = self.councils, self.shared.get
            batches = iter([page])
        try:
            for batch in batches:
                for ref, pid, name, ward, agreed, post, promote, cid in batch:
                    if remaining == 0:
                        council_slug, slug = last.split("/", 1)
                        self.next = Cursor(
                            KIND, (council_slug, slug), iso_instant(self.at), self.council
                        ).encode()
                        return
                    both = shared(cid, free)
                    if pid in grants:
                        situation = self._alone(councils.get(cid), pid, ward, flag[agreed])
                    elif both is not None:
                        situation = both[agreed]
                    else:
                        found = by_ward.get((cid, ward))
                        if found is None:
                            found = by_ward[(cid, ward)] = self._situation(councils[cid], ward)
                        situation = found[agreed]
                    remaining -= 1
                    last = ref
                    yield new(
                        StatusRow,
                        (
                            ref,
                            name,
                            situation[0],
                            situation[1],
                            flag[post],
                            flag[promote],
                            comparable,
                            situation[2],
                        ),
                    )
        finally:
            if hasattr(batches, "close"):
                batches.close()
            self.count = (-1 if limit is None else limit) - remaining


def status_page(
    store: Store,
    at: datetime,
    council: str | None = None,
    now: datetime | None = None,
    *,
    limit: int | None = None,
    after: tuple[str, str] | None = None,
) -> StatusPage:
    """The answers at `at`, streamed (see `StatusPage`). Raises NotFound for an unknown
    council before anything is streamed."""
    return StatusPage(store, at, council, now, limit=limit, after=after)


def status(
    store: Store, at: datetime, council: str | None = None, now: datetime | None = None
) -> list[StatusRow]:
    """Every answer at `at` as a list (for callers that need them all at once)."""
    return list(status_page(store, at, council, now))
