"""The query layer, begun: statements more than one service needs, written once.

ARCHITECTURE.md puts every SQL statement of the store in one layer (store/); this module
holds those the services shared or wrote more than once: the council-by-slug lookup
and the windows in the shape `decide` needs. It imports no service (services import it),
and SQLAlchemy only where a statement is built with it, so that the hot read paths
that query through `Store.query` (stdlib sqlite3 on SQLite) stay light.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from purdah.decide import Span
from purdah.errors import NotFound
from purdah.store import Store, as_instant

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Connection


class CouncilRef(NamedTuple):
    id: int
    slug: str
    name: str
    nation: str
    created_at: datetime


_COUNCIL_BY_SLUG = "SELECT id, slug, name, nation, created_at FROM council WHERE slug = :slug"


def find_council(source: Store | Connection, slug: str) -> CouncilRef | None:
    """The registered council `slug` (any case, spaces around ignored), or None. Through a
    Store it is read with `Store.query` (no SQLAlchemy on SQLite); through an open
    Connection, inside its transaction."""
    params = {"slug": slug.strip().lower()}
    if isinstance(source, Store):
        rows = source.query(_COUNCIL_BY_SLUG, params)
    else:
        import sqlalchemy as sa

        rows = [tuple(r) for r in source.execute(sa.text(_COUNCIL_BY_SLUG), params)]
    if not rows:
        return None
    cid, found, name, nation, created_at = rows[0]
    return CouncilRef(int(cid), found, name, nation, as_instant(created_at))


def council_by_slug(source: Store | Connection, slug: str) -> CouncilRef:
    """The registered council `slug`, or NotFound saying where to look."""
    found = find_council(source, slug)
    if found is None:
        raise NotFound(f"no council {slug!r} in the register: see 'purdah council list'")
    return found


def council_id(conn: Store | Connection, slug: str) -> int:
    """The id of the registered council `slug`, or NotFound."""
    return council_by_slug(conn, slug).id


def spans_query() -> sa.Select[Any]:
    """Windows with their election id, the shape `decide` needs."""
    import sqlalchemy as sa

    from purdah.models import election_t, window_t

    W, E = window_t.c, election_t.c
    return sa.select(
        W.council_id,
        E.election_id,
        W.start,
        W.end,
        W.ward,
        W.start_basis,
        W.end_basis,
        W.actual_notice,
        W.rule,
        W.notes,
        W.run_up_start,
        W.last_day,
        W.run_up_note,
        E.notice,
    ).join_from(window_t, election_t, W.election_pk == E.id)


def span_of(row: Any) -> Span:
    return Span(
        row.election_id,
        row.start,
        row.end,
        row.ward,
        row.start_basis,
        row.end_basis,
        row.actual_notice,
        row.rule,
        row.notes,
        row.run_up_start,
        row.last_day,
        row.run_up_note,
        row.notice,
    )


# Values of an IN list sent as bind parameters; a longer list is written into the statement
# as literals. Each store refuses a statement of too many parameters (PostgreSQL 65,535;
# SQLite 32,766 in its default build, and whatever a distribution compiled in), and the
# national register's lists of councils, councillors or windows run to 100,000 and more.
BOUND_AT_MOST = 500


def among(column: Any, values: Iterable[Any]) -> Any:
    """`column IN (values)` for a list of any length: up to BOUND_AT_MOST values as bind
    parameters, more as literals rendered by the dialect (ids and slugs: SQLAlchemy
    quotes strings), so no store's parameter limit is reached. An empty list matches
    nothing, as `in_([])` does."""
    import sqlalchemy as sa

    wanted = sorted(set(values))
    if len(wanted) <= BOUND_AT_MOST:
        return column.in_(wanted)
    return column.in_(sa.bindparam(None, wanted, expanding=True, literal_execute=True))
