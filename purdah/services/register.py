"""The clerk's register: councils (and the areas they lie within) and councillors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import (
    COUNCIL_KINDS,
    COUNCIL_NATIONS,
    COUNCIL_SCOPES,
    END_POLICIES,
    ROLES,
    START_POLICIES,
    not_one_of,
)
from purdah.coverage import normalise_area
from purdah.csvfile import read_csv
from purdah.errors import InputError
from purdah.models import council_area_t, council_t, councillor_t, meta_t
from purdah.queries import among
from purdah.queries import council_id as council_id  # re-exported: its old home
from purdah.refs import split_ref
from purdah.services.listing import CouncilRow as CouncilRow  # its home is listing
from purdah.services.listing import list_councils as list_councils
from purdah.services.reconcile import ReconcileResult, reconcile_in
from purdah.services.windows import Scope, WindowChanges, recompute_windows
from purdah.store import DEFAULT_START_POLICY_KEY, Store
from purdah.timetable import EndPolicy, StartPolicy

SCOPES = COUNCIL_SCOPES  # its old name

C = council_t.c
A = council_area_t.c
P = councillor_t.c


@dataclass(frozen=True)
class CouncillorRow:
    council: str
    slug: str
    name: str
    ward: str | None
    role: str
    agreed_may_post: bool
    may_post: bool
    may_promote: bool

    @property
    def ref(self) -> str:
        return f"{self.council}/{self.slug}"


@dataclass(frozen=True)
class ImportResult:
    council: str
    added: list[str] = field(default_factory=list)


def _council_row(
    slug: str,
    name: str,
    nation: str,
    kind: str,
    within: tuple[str, ...] | list[str],
    start_policy: str,
    end_policy: str,
    scope: str,
) -> CouncilRow:
    """A council as given, checked and normalised; InputError says what is wrong."""
    nation = nation.upper()
    if nation not in COUNCIL_NATIONS:
        raise InputError(not_one_of("nation", nation, COUNCIL_NATIONS))
    if kind not in COUNCIL_KINDS:
        raise InputError(not_one_of("council kind", kind, COUNCIL_KINDS))
    start_policy = parse_start_policy(start_policy).value if start_policy else ""
    if end_policy not in END_POLICIES:
        raise InputError(not_one_of("end policy", end_policy, END_POLICIES))
    if scope not in COUNCIL_SCOPES:
        raise InputError(not_one_of("scope", scope, COUNCIL_SCOPES))
    areas = tuple(dict.fromkeys(normalise_area(a, "within area") for a in within))
    return CouncilRow(
        normalise_area(slug, "council slug"),
        name,
        nation,
        kind,
        areas,
        start_policy,
        end_policy,
        scope,
    )


def parse_start_policy(value: str) -> StartPolicy:
    """A start policy by name (the names used before the run-up policy are accepted too)."""
    try:
        return StartPolicy(value.strip().lower())
    except ValueError:
        raise InputError(not_one_of("start policy", value, START_POLICIES)) from None


def default_start_policy(conn: Connection) -> StartPolicy:
    """The policy a council gets when none is given: the store's default (purdah init)."""
    value = conn.execute(
        sa.select(meta_t.c.value).where(meta_t.c.key == DEFAULT_START_POLICY_KEY)
    ).scalar()
    return StartPolicy(value) if value else StartPolicy.RUN_UP


@dataclass(frozen=True)
class DefaultPolicy:
    policy: StartPolicy
    changed: bool


def set_default_start_policy(store: Store, policy: str | None) -> DefaultPolicy:
    """Read, or with `policy` set, the store's default start policy for new councils.
    Councils already registered keep theirs."""
    if policy is None:
        with store.read() as conn:
            return DefaultPolicy(default_start_policy(conn), False)
    chosen = parse_start_policy(policy)
    with store.write() as (conn, _now):
        current = default_start_policy(conn)
        if chosen is current:
            return DefaultPolicy(current, False)
        updated = conn.execute(
            sa.update(meta_t)
            .where(meta_t.c.key == DEFAULT_START_POLICY_KEY)
            .values(value=chosen.value)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(meta_t).values(key=DEFAULT_START_POLICY_KEY, value=chosen.value))
        return DefaultPolicy(chosen, True)


@dataclass(frozen=True)
class PolicyChange:
    council: str
    old: str
    new: str
    windows: WindowChanges
    reconcile: ReconcileResult


def set_start_policy(store: Store, slug: str, policy: str) -> PolicyChange:
    """Change one council's start policy: its windows are recomputed and its flags
    reconciled at once (a flag that switches is audited at the write's instant, never
    backdated)."""
    chosen = parse_start_policy(policy)
    with store.write() as (conn, now):
        cid = council_id(conn, slug)
        old = conn.execute(sa.select(C.start_policy).where(C.id == cid)).scalar_one()
        conn.execute(sa.update(council_t).where(C.id == cid).values(start_policy=chosen.value))
        windows = recompute_windows(conn, now, Scope.of(councils=[cid]))
        result = reconcile_in(conn, now)
    return PolicyChange(slug.strip().lower(), str(old), chosen.value, windows, result)


def _insert_councils(
    conn: Connection,
    rows: list[CouncilRow],
    now: datetime,
    gss: dict[str, str] | None = None,
    where: list[str] | None = None,
    new_areas: bool = False,
) -> list[CouncilRow]:
    """Insert councils and their areas (each a known area: purdah.services.areas), then
    recompute windows and reconcile. Returns the rows with their areas' keys. A council
    without a start policy gets the store's default."""
    from purdah.services.area_check import check_areas, known_areas

    default = default_start_policy(conn).value
    rows = [r if r.start_policy else replace(r, start_policy=default) for r in rows]
    taken = set(
        conn.execute(sa.select(C.slug).where(among(C.slug, [r.slug for r in rows]))).scalars()
    )
    if taken:
        raise InputError(f"already in the register: {', '.join(sorted(taken))}")
    known = known_areas(conn, also=[r.slug for r in rows])
    checked, errors = [], []
    for index, r in enumerate(rows):
        try:
            within = check_areas(conn, r.within, "--within area", known=known, allow_new=new_areas)
        except InputError as exc:
            if where is None:
                raise
            errors.append(f"{where[index]}: {exc}")
            continue
        checked.append(replace(r, within=tuple(within)))
    if errors:
        raise InputError(
            "nothing imported; fix these rows and import again:\n  " + "\n  ".join(errors)
        )
    rows = checked
    added: list[int] = []
    for row in rows:
        new_id = conn.execute(
            sa.insert(council_t).values(
                slug=row.slug,
                name=row.name,
                nation=row.nation,
                kind=row.kind,
                start_policy=row.start_policy,
                end_policy=row.end_policy,
                scope=row.scope,
                gss=(gss or {}).get(row.slug),
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        added.append(new_id)
        if row.within:
            conn.execute(
                sa.insert(council_area_t), [{"council_id": new_id, "area": a} for a in row.within]
            )
    recompute_windows(conn, now, Scope.of(councils=added))
    reconcile_in(conn, now)
    return rows


def add_council(
    store: Store,
    slug: str,
    *,
    name: str,
    nation: str,
    kind: str,
    within: tuple[str, ...] = (),
    start_policy: str | None = None,
    end_policy: str = EndPolicy.CLOSE_OF_POLL.value,
    scope: str = "council",
    new_areas: bool = False,
) -> CouncilRow:
    """Add a council; without `start_policy` it gets the store's default (purdah init)."""
    row = _council_row(slug, name, nation, kind, within, start_policy or "", end_policy, scope)
    with store.write() as (conn, now):
        (row,) = _insert_councils(conn, [row], now, new_areas=new_areas)
    return row


def add_councillor(
    store: Store,
    ref: str,
    *,
    name: str,
    ward: str | None = None,
    agreed_may_post: bool = False,
    role: str = "member",
    email: str | None = None,
) -> CouncillorRow:
    from purdah.notify.addresses import check_address

    council, slug = split_ref(ref)
    slug = normalise_area(slug, "councillor slug")
    _check_role(role)
    address = check_address(email, "--email") if email else None
    with store.write() as (conn, now):
        cid = council_id(conn, council)
        _insert_councillors(conn, cid, [(slug, name, ward, role, agreed_may_post)], now)
        if address is not None:
            conn.execute(
                sa.update(councillor_t)
                .where(P.council_id == cid, P.slug == slug)
                .values(email=address)
            )
        reconcile_in(conn, now)
    return CouncillorRow(council, slug, name, ward, role, agreed_may_post, agreed_may_post, True)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(not_one_of("role", role, ROLES))


def _insert_councillors(
    conn: Connection,
    cid: int,
    rows: list[tuple[str, str, str | None, str, bool]],
    now: datetime,
) -> None:
    slugs = [r[0] for r in rows]
    taken = set(
        conn.execute(sa.select(P.slug).where(P.council_id == cid, among(P.slug, slugs))).scalars()
    )
    if taken:
        raise InputError(f"already in the register: {', '.join(sorted(taken))}")
    # Flags start at what they are outside any window; reconcile switches them at once.
    conn.execute(
        sa.insert(councillor_t),
        [
            {
                "council_id": cid,
                "slug": slug,
                "name": name,
                "ward": ward,
                "role": role,
                "agreed_may_post": agreed,
                "may_post": agreed,
                "may_promote": True,
                "flags_at": now,
                "created_at": now,
                "changed_at": now,  # reconcile reads it: who changed since its last run
            }
            for slug, name, ward, role, agreed in rows
        ],
    )


_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}


def import_councillors(store: Store, path: Path, council: str) -> ImportResult:
    """Add every councillor in a CSV file, or none: any bad row rejects the whole file.

    Columns (header row, any order): name (required), slug (default: from the name),
    ward, role, may_post (yes/no).
    """
    records, problems = read_csv(path, required=("name",))
    rows: list[tuple[str, str, str | None, str, bool]] = []
    for record in records:
        line = record.line
        name = record.get("name")
        if not name:
            problems.add(line, "the name is empty")
            continue
        slug = record.get("slug") or _slugify(name)
        try:
            slug = normalise_area(slug, "slug")
            role = record.get("role") or "member"
            _check_role(role)
        except InputError as exc:
            problems.add(line, str(exc))
            continue
        flag = record.get("may_post").lower()
        if flag not in _TRUE | _FALSE:
            problems.add(line, f"may_post {flag!r} is not yes or no")
            continue
        if problems.unique(line, "slug", slug):
            rows.append((slug, name, record.get("ward") or None, role, flag in _TRUE))
    problems.raise_if_any()
    if not rows:
        raise InputError(f"{path}: no councillors in the file; nothing imported")
    with store.write() as (conn, now):
        cid = council_id(conn, council)
        _insert_councillors(conn, cid, rows, now)
        reconcile_in(conn, now)
    return ImportResult(council, [r[0] for r in rows])


def _slugify(name: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in name)
    return "-".join(part for part in out.split("-") if part)


def list_councillors(store: Store, council: str | None = None) -> list[CouncillorRow]:
    query = (
        sa.select(
            C.slug.label("council"),
            P.slug,
            P.name,
            P.ward,
            P.role,
            P.agreed_may_post,
            P.may_post,
            P.may_promote,
        )
        .join_from(councillor_t, council_t, P.council_id == C.id)
        .where(P.left_at.is_(None))
        .order_by(C.slug, P.slug)
    )
    with store.read() as conn:
        if council:
            query = query.where(P.council_id == council_id(conn, council))
        return [CouncillorRow(*row) for row in conn.execute(query)]


def import_councils(store: Store, path: Path) -> list[str]:
    """Add every council in a CSV file, or none. Columns: slug, name, nation, kind, and
    optionally within (areas separated by ';'), start_policy, end_policy, scope."""
    records, problems = read_csv(path, required=("slug", "name", "nation", "kind"))
    rows: list[CouncilRow] = []
    where: list[str] = []
    for record in records:
        try:
            row = _council_row(
                record.get("slug"),
                record.get("name"),
                record.get("nation"),
                record.get("kind"),
                [a for a in record.get("within").split(";") if a.strip()],
                record.get("start_policy") or "",
                record.get("end_policy") or EndPolicy.CLOSE_OF_POLL.value,
                record.get("scope") or "council",
            )
        except InputError as exc:
            problems.add(record.line, str(exc))
            continue
        if problems.unique(record.line, "slug", row.slug):
            rows.append(row)
            where.append(f"{path}:{record.line}")
    problems.raise_if_any()
    if not rows:
        raise InputError(f"{path}: no councils in the file; nothing imported")
    with store.write() as (conn, now):
        _insert_councils(conn, rows, now, where=where)
    return [r.slug for r in rows]
