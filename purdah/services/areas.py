"""Councils from the area register: find, add with the whole chain, show, edit, remove;
a newer ONS parish lookup. Areas are checked by purdah.services.area_check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import (
    COUNCIL_NATIONS,
    COUNCIL_SCOPES,
    END_POLICIES,
    REMOVED_KIND,
    not_one_of,
)
from purdah.coverage import UK_AREA, normalise_area
from purdah.csvfile import read_csv
from purdah.errors import InputError
from purdah.models import (
    council_area_t,
    council_t,
    councillor_t,
    election_t,
    parish_lookup_t,
)
from purdah.queries import among, council_id, find_council
from purdah.services.area_check import (
    check_area,
    check_areas,
    register_for,
)
from purdah.services.area_find import (
    ChainMember,
    _member,
    vintage_text,
)
from purdah.sources.areas import PARISH, PRINCIPAL, Area, shipped
from purdah.sources.build import slugify
from purdah.store import Store
from purdah.words import plural

if TYPE_CHECKING:
    from purdah.services.register import CouncilRow

C = council_t.c
A = council_area_t.c
RETIRED = REMOVED_KIND  # the kind of a council removed with --force (windows skip it)
_NATION_KEYS = (*(n.lower() for n in COUNCIL_NATIONS), UK_AREA)

# The register's kinds as the council table's kinds (services.register.COUNCIL_KINDS).
_COUNCIL_KIND = {
    "combined-county-authority": "combined-authority",
    "greater-london-authority": "combined-authority",
}


@dataclass(frozen=True)
class CouncilView:
    slug: str
    name: str
    kind: str
    nation: str
    gss: str | None
    chain: list[ChainMember]
    polls: list[tuple[str, str]]  # (what, why)
    councillors: int
    start_policy: str
    end_policy: str
    scope: str
    vintage: str


@dataclass(frozen=True)
class ParishImport:
    path: str
    vintage: str
    rows: int
    new: int
    changed: int
    warnings: list[str] = field(default_factory=list)


# ---- council add from the register ---------------------------------------------------


@dataclass(frozen=True)
class Planned:
    slug: str
    name: str
    nation: str
    kind: str
    within: tuple[str, ...]
    gss: str
    chain: list[ChainMember]


def plan_from_register(
    conn: Connection, *, gss: str | None = None, slug: str | None = None, name: str | None = None
) -> Planned:
    """The council a GSS code (or a principal council's Democracy Club slug) names, with
    every area of its chain; InputError if the register does not know it."""
    register = register_for(conn)
    if gss:
        area = register.by_gss.get(gss.strip().upper())
        if area is None:
            close = [
                a.gss for a in register.find(gss.strip(), 3)[0] if a.gss != gss.strip().upper()
            ]
            hint = f" (nearest: {', '.join(close)})" if close else ""
            raise InputError(
                f"GSS code {gss!r} is not in the area register ({register.vintage}){hint}: "
                "see 'purdah council find', import a newer parish lookup with 'purdah areas "
                "import', or add the council by hand with --name, --nation, --kind, --within"
            )
    else:
        assert slug is not None
        area = register.lookup(slug)
        if area is None or area.kind not in PRINCIPAL | {
            "combined-authority",
            "combined-county-authority",
            "greater-london-authority",
        }:
            close = register.suggest(slug)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise InputError(
                f"{slug!r} is not a Democracy Club slug of a principal council in the area "
                f"register: {hint}give --gss CODE (see 'purdah council find'), or add it by "
                "hand with --name, --nation, --kind and --within"
            )
    if area.ended:
        now = register.current(area)
        raise InputError(
            f"{area.name} ({area.gss}) was abolished on {area.ended}; its successor is "
            f"{now.name} ({now.gss}): add that instead"
        )
    if area.kind in ("police-area", "nation"):
        raise InputError(
            f"{area.name} ({area.gss}) is a {area.kind}, not a council: councils within it "
            "list it in their chain"
        )
    chain = register.chain(area)
    council_slug = normalise_area(slug or area.key or slugify(area.name), "council slug")
    if area.key and slug and register.lookup(slug) is area:
        council_slug = area.key
    within = tuple(a.key for a in chain if a.key and a.key not in _NATION_KEYS)
    kind = _COUNCIL_KIND.get(area.kind, area.kind)
    return Planned(
        council_slug,
        name or _council_name(area),
        area.nation or "ENG",
        kind,
        within,
        area.gss,
        [_member(register, a) for a in chain],
    )


def _council_name(area: Area) -> str:
    if area.kind in PARISH:
        return f"{area.name} {'Community' if area.kind == 'community' else 'Parish'} Council"
    return area.name


# ---- show ----------------------------------------------------------------------------

_POLLS_BY_KIND = {
    "district": "local elections of the district (ward by-elections too)",
    "county": "local elections of the county (division by-elections too)",
    "unitary": "local elections of the unitary council",
    "metropolitan": "local elections of the metropolitan borough",
    "london-borough": "local elections of the London borough",
    "city-of-london": "elections of the City of London Corporation",
    "combined-authority": "mayoral elections of the combined authority, where it has a mayor",
    "combined-county-authority": "mayoral elections of the combined county authority, "
    "where it has a mayor",
    "greater-london-authority": "Mayor of London and London Assembly elections",
}
_NATION_POLLS = {
    "eng": "national referendums held in England",
    "wls": "Senedd elections",
    "sct": "Scottish Parliament elections",
    "nir": "Northern Ireland Assembly elections",
    UK_AREA: "UK general elections and UK-wide referendums",
}


def polls_covering(kind: str, chain: list[ChainMember], own_slug: str) -> list[tuple[str, str]]:
    """Which kinds of poll cover a council with this chain (what, through which area)."""
    polls = [(f"its own elections ({kind})", own_slug)]
    for member in chain:
        if member.kind == "police-area":
            what = (
                f"none of its own: {member.note}"
                if member.note.startswith("no PCC")
                else "police and crime commissioner elections"
            )
            polls.append((what, member.slug))
        elif member.kind == "nation":
            polls.append((_NATION_POLLS.get(member.slug, ""), member.slug))
        elif member.kind in _POLLS_BY_KIND:
            polls.append((_POLLS_BY_KIND[member.kind], member.slug))
        else:
            polls.append((f"elections held for {member.name}", member.slug))
    return polls


def show_council(store: Store, slug: str) -> CouncilView:

    with store.read() as conn:
        cid = council_id(conn, slug)
        row = conn.execute(sa.select(council_t).where(C.id == cid)).one()
        within = list(
            conn.execute(sa.select(A.area).where(A.council_id == cid).order_by(A.id)).scalars()
        )
        councillors = conn.execute(
            sa.select(sa.func.count()).where(councillor_t.c.council_id == cid)
        ).scalar_one()
        register = register_for(conn)
        names = {r.slug: r for r in conn.execute(sa.select(C.slug, C.name, C.kind, C.gss))}
    chain: list[ChainMember] = []
    for key in within:
        area = register.by_key.get(key)
        if area is not None:
            chain.append(_member(register, area))
        elif key in names:
            other = names[key]
            chain.append(ChainMember(other.gss or "", other.name, other.kind, key))
        else:
            chain.append(ChainMember("", key, "area", key, "not in the area register"))
    for key in (row.nation.lower(), UK_AREA):
        area = register.by_key.get(key)
        if area is not None and all(m.slug != key for m in chain):
            chain.append(_member(register, area))
    return CouncilView(
        row.slug,
        row.name,
        row.kind,
        row.nation,
        row.gss,
        chain,
        polls_covering(row.kind, chain, row.slug),
        int(councillors),
        row.start_policy,
        row.end_policy,
        row.scope,
        vintage_text(register),
    )


# ---- edit and remove -----------------------------------------------------------------


@dataclass(frozen=True)
class Removed:
    slug: str
    councillors: int
    kept_history: bool


def edit_council(
    store: Store,
    slug: str,
    *,
    name: str | None = None,
    new_slug: str | None = None,
    add_within: tuple[str, ...] = (),
    remove_within: tuple[str, ...] = (),
    start_policy: str | None = None,
    end_policy: str | None = None,
    scope: str | None = None,
    clerk_email: str | None = None,
) -> CouncilView:
    """Mend a council: rename it, change its slug, policies or scope, add or drop areas
    it lies within (each added area checked), set the clerk's e-mail address for the
    daily digest ("" clears it). Windows and flags follow at once."""
    from purdah.notify.addresses import check_address
    from purdah.services.reconcile import reconcile_in
    from purdah.services.register import parse_start_policy
    from purdah.services.windows import Scope, recompute_windows

    if start_policy is not None:
        start_policy = parse_start_policy(start_policy).value
    if end_policy is not None and end_policy not in END_POLICIES:
        raise InputError(not_one_of("end policy", end_policy, END_POLICIES))
    if scope is not None and scope not in COUNCIL_SCOPES:
        raise InputError(not_one_of("scope", scope, COUNCIL_SCOPES))
    clerk: str | None = None
    if clerk_email is not None and clerk_email.strip():
        clerk = check_address(clerk_email, "--clerk-email")
    with store.write() as (conn, now):
        cid = council_id(conn, slug)
        if clerk_email is not None:
            conn.execute(sa.update(council_t).where(C.id == cid).values(clerk_email=clerk))
        values: dict[str, str] = {}
        if name:
            values["name"] = name
        if new_slug:
            fresh = normalise_area(new_slug, "council slug")
            taken = find_council(conn, fresh)
            if taken is not None and taken.id != cid:
                raise InputError(f"already in the register: {fresh}")
            values["slug"] = fresh
        for key, value in (
            ("start_policy", start_policy),
            ("end_policy", end_policy),
            ("scope", scope),
        ):
            if value is not None:
                values[key] = value
        if values:
            old_slug = conn.execute(sa.select(C.slug).where(C.id == cid)).scalar_one()
            conn.execute(sa.update(council_t).where(C.id == cid).values(**values))
            recorded = conn.execute(
                sa.select(election_t.c.id).where(election_t.c.area == old_slug).limit(1)
            ).first()
            if "slug" in values and recorded is not None:
                # Polls recorded for the old slug still cover it: keep it as an area.
                conn.execute(sa.insert(council_area_t).values(council_id=cid, area=old_slug))
        if remove_within:
            current = set(conn.execute(sa.select(A.area).where(A.council_id == cid)).scalars())
            drop = [normalise_area(a, "--drop-within") for a in remove_within]
            missing = [a for a in drop if a not in current]
            if missing:
                raise InputError(
                    f"{slug} does not lie within {', '.join(missing)} in the register "
                    f"(it lies within: {', '.join(sorted(current)) or 'nothing listed'})"
                )
            conn.execute(sa.delete(council_area_t).where(A.council_id == cid, among(A.area, drop)))
        if add_within:
            keys = check_areas(conn, add_within, "--within")
            current = set(conn.execute(sa.select(A.area).where(A.council_id == cid)).scalars())
            fresh_keys = [k for k in keys if k not in current]
            if fresh_keys:
                conn.execute(
                    sa.insert(council_area_t), [{"council_id": cid, "area": k} for k in fresh_keys]
                )
        recompute_windows(conn, now, Scope.of(councils=[cid]))
        reconcile_in(conn, now)
        final = values.get("slug", slug.strip().lower())
    return show_council(store, final)


def remove_council(store: Store, slug: str, *, force: bool) -> Removed:
    """Remove a council. Refused while it has councillors, unless `force`: then the
    councillors' flag history is kept (their rows are kept under a retired council and
    marked so that no window covers them)."""
    from purdah.services.reconcile import reconcile_in
    from purdah.services.windows import Scope, recompute_windows

    with store.write() as (conn, now):
        cid = council_id(conn, slug)
        count = conn.execute(
            sa.select(sa.func.count()).where(councillor_t.c.council_id == cid)
        ).scalar_one()
        if count and not force:
            raise InputError(
                f"council {slug} has {plural(count, 'councillor')}: remove them first, or give "
                "--force "
                "(the council is retired and its councillors' flag history kept)"
            )
        if count:
            # Keep the rows the audit log points at: the council is retired (a kind no
            # window covers, a slug that frees the old one), its areas dropped.
            row = conn.execute(sa.select(C.slug).where(C.id == cid)).scalar_one()
            conn.execute(
                sa.update(council_t)
                .where(C.id == cid)
                .values(
                    slug=f"{row}-removed-{now.strftime('%Y%m%d%H%M%S')}", kind=RETIRED, gss=None
                )
            )
            conn.execute(sa.delete(council_area_t).where(A.council_id == cid))
        else:
            conn.execute(sa.delete(council_t).where(C.id == cid))
        recompute_windows(conn, now, Scope.of(councils=[cid]))
        reconcile_in(conn, now)
    return Removed(slug, int(count), bool(count))


# ---- a newer ONS parish lookup --------------------------------------------------------

_CODE = re.compile(r"^(PAR|LAD)(\d{2})CD$")


def import_parish_lookup(store: Store, path: Path) -> ParishImport:
    """Load an ONS parish-to-district lookup (columns PARyyCD, PARyyNM, LADyyCD of any
    year yy) over the shipped one, all or nothing. Districts are checked against the
    register (successors of abolished ones are followed)."""
    records, problems = read_csv(path, required=())
    header = [h.upper() for h in problems.columns]
    par = next((h for h in header if re.match(r"^PAR\d{2}CD$", h)), None)
    lad = next((h for h in header if re.match(r"^LAD\d{2}CD$", h)), None)
    if par is None or lad is None:
        raise InputError(
            f"{path}:1: an ONS parish lookup has columns PARyyCD, PARyyNM and LADyyCD "
            f"(found: {', '.join(header) or 'nothing'})"
        )
    nm = par[:-2] + "NM"
    if nm not in header:
        raise InputError(f"{path}:1: the header row has {par} but no {nm} column")
    vintage = f"{path.name}, {par[:-2]} (20{par[3:5]})"
    base = shipped()
    rows: dict[str, tuple[str, str]] = {}
    for record in records:
        line = record.line
        gss = record.get(par.lower()).upper()
        name = record.get(nm.lower())
        district = record.get(lad.lower()).upper()
        if not re.match(r"^[EW]04\d{6}$", gss):
            problems.add(line, f"{par} {gss!r} is not a parish or community code")
            continue
        if not name:
            problems.add(line, f"{nm} is empty")
            continue
        home = base.by_gss.get(district)
        if home is None or home.kind in PARISH or home.kind == "police-area":
            problems.add(line, f"{lad} {district!r} is not a district in the register")
            continue
        if gss in rows and rows[gss][1] != district:
            problems.add(line, f"{gss} appears again with another district")
            continue
        rows[gss] = (name, district)
    problems.raise_if_any()
    if not rows:
        raise InputError(f"{path}: no parishes in the file; nothing imported")
    new = sum(1 for gss in rows if gss not in base.by_gss)
    changed = sum(
        1
        for gss, (name, district) in rows.items()
        if gss in base.by_gss
        and (base.by_gss[gss].name != name or base.by_gss[gss].district != district)
    )
    with store.write() as (conn, now):
        conn.execute(sa.delete(parish_lookup_t))
        conn.execute(
            sa.insert(parish_lookup_t),
            [
                {"gss": g, "name": n, "district": d, "vintage": vintage, "imported_at": now}
                for g, (n, d) in rows.items()
            ],
        )
    return ParishImport(str(path), vintage, len(rows), new, changed)


@dataclass(frozen=True)
class Added:
    council: CouncilRow
    gss: str
    chain: list[ChainMember]


def add_from_register(
    store: Store,
    *,
    gss: str | None = None,
    slug: str | None = None,
    name: str | None = None,
    start_policy: str | None = None,
    end_policy: str = "close-of-poll",
    scope: str = "council",
) -> Added:
    """Register the council a GSS code (or a principal council's Democracy Club slug)
    names, with every area of its chain: district, county, combined authority, police
    area (the nation and the UK are implied)."""
    from purdah.services.register import _council_row, _insert_councils

    with store.write() as (conn, now):
        plan = plan_from_register(conn, gss=gss, slug=slug, name=name)
        already = conn.execute(sa.select(C.slug).where(C.gss == plan.gss)).scalar()
        if already is not None:
            raise InputError(f"{plan.gss} is already registered as council {already}")
        row = _council_row(
            plan.slug,
            plan.name,
            plan.nation,
            plan.kind,
            plan.within,
            start_policy or "",
            end_policy,
            scope,
        )
        if find_council(conn, row.slug) is not None:
            raise InputError(
                f"a council with slug {row.slug!r} is already registered: give --slug, e.g. "
                f"--slug {row.slug}-{(plan.chain[0].slug if plan.chain else 'parish')}"
            )
        (row,) = _insert_councils(conn, [row], now, gss={row.slug: plan.gss})
    return Added(row, plan.gss, plan.chain)


def place_election_area(
    conn: Connection, area: str, election_type: str, by_election: bool, *, allow_new: bool = False
) -> str:
    """The key of the area an election id names, or InputError with suggestions when it
    names none that is known. A parliamentary by-election's constituency is taken as it
    is (constituencies are not in the register: councils list them with --within)."""
    if election_type == "parl" and by_election:
        return area
    if election_type == "pcc":
        register = register_for(conn)
        police = register.by_key.get(f"{area.removesuffix('-police')}-police")
        if police is not None:
            return area.removesuffix("-police")
    return check_area(conn, area, "election area", allow_new=allow_new)


def nation_of(conn: Connection, key: str | None) -> str | None:
    """The nation of a registered council or a shipped area, if known (ENG, WLS ...)."""
    if not key:
        return None
    council = find_council(conn, key)
    if council is not None and council.nation:
        return council.nation
    area = register_for(conn).lookup(key)
    return area.nation if area is not None and area.nation else None


def election_placer(conn: Connection) -> Any:
    """For the EveryElection adapter: the area key and nation of one election, placed by
    its organisation (register code, GSS code, slug) or its id; (None, reason) if none."""
    from purdah.coverage import default_area
    from purdah.ids import ElectionId, Nation

    register = register_for(conn)
    registered = {r.slug: r.nation for r in conn.execute(sa.select(C.slug, C.nation))}

    def place(p: ElectionId, e: dict[str, Any]) -> tuple[str | None, str | None]:
        org: dict[str, Any] = e["organisation"] if isinstance(e.get("organisation"), dict) else {}
        territory = str(org.get("territory_code") or "") or None
        nation = territory if territory in COUNCIL_NATIONS else None
        if p.type == "parl" and p.by_election:
            division: dict[str, Any] = e["division"] if isinstance(e.get("division"), dict) else {}
            code = str(division.get("official_identifier") or "").removeprefix("gss:")
            nation = nation or {"E": "ENG", "W": "WLS", "S": "SCT", "N": "NIR"}.get(code[:1])
            return str(division.get("slug") or p.division or "") or None, nation
        if p.type == "pcc":
            slug = str(org.get("slug") or p.organisation or "")
            police = register.by_key.get(f"{slug}-police")
            if police is not None:
                return slug, police.nation
            return None, f"police area {slug!r} is not in the area register: import with --area"
        if p.type in ("local", "mayor", "ref") or p.organisation:
            ident = str(org.get("official_identifier") or "").removeprefix("gss:")
            for candidate in (ident, org.get("slug"), p.organisation):
                if not candidate:
                    continue
                text = str(candidate)
                if text.lower() in registered:
                    return text.lower(), registered[text.lower()]
                area = register.lookup(text)
                if area is not None and area.key:
                    if area.ended:
                        area = register.current(area)
                    return area.key, area.nation or nation
            if p.type == "mayor" and p.organisation == "london":
                return "london", "ENG"
            name = org.get("official_name") or ident or p.organisation
            if p.organisation is None and p.type in ("local", "mayor", "pcc", "ref"):
                return None, f"{p.text} is a group id with no organisation: its children are"
            return None, (
                f"organisation {name!r} is not in the area register: register the council, "
                "or import this election with --area"
            )
        area_key = default_area(p, Nation.UK)
        return area_key, nation

    return place
