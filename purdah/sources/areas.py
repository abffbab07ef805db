"""The shipped register of UK areas: every principal council, combined authority, police
force area, parish and community, each with the chain of areas it lies within.

Built by purdah.sources.build from mySociety and ONS files (purdah/data/README.md has
the sources, licences and vintage). Loaded on first use, never at import. A clerk's
newer ONS parish lookup (`purdah areas import`) is laid over it from the store.

An area's `key` is the code purdah's coverage uses (purdah.coverage): the Democracy Club
organisation slug for a council or combined authority (`ashfield`, `east-midlands-cca`),
`london` for the Greater London Authority, `<force>-police` for a police force area, and
`eng`/`wls`/`sct`/`nir`/`uk` for the nations. Parishes have no key of their own: a parish
council is registered under a slug of the clerk's choosing (by default from its name).
"""

from __future__ import annotations

import csv
import difflib
import functools
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources

_COLUMNS = (
    "gss", "kind", "name", "key", "nation", "code", "district", "county", "combined",
    "police", "ended", "successor", "aliases", "note",
)  # fmt: skip
PRINCIPAL = frozenset(
    {"district", "county", "unitary", "metropolitan", "london-borough", "city-of-london"}
)
PARISH = frozenset({"parish", "community"})
COMBINED = frozenset(
    {"combined-authority", "combined-county-authority", "greater-london-authority"}
)


@dataclass(frozen=True)
class Area:
    gss: str
    kind: str
    name: str
    key: str
    nation: str
    code: str = ""  # mySociety register code (ASH); for a police area its DC slug
    district: str = ""  # GSS codes of what it lies within
    county: str = ""
    combined: str = ""
    police: str = ""
    ended: str = ""
    successor: str = ""
    aliases: tuple[str, ...] = ()
    note: str = ""
    source: str = "shipped"


@dataclass
class AreaRegister:
    vintage: str
    by_gss: dict[str, Area] = field(default_factory=dict)
    by_key: dict[str, Area] = field(default_factory=dict)
    by_alias: dict[str, Area] = field(default_factory=dict)
    by_code: dict[str, Area] = field(default_factory=dict)
    overlay: str = ""  # the vintage of a clerk's imported parish lookup, if any

    def add(self, area: Area) -> None:
        self.by_gss[area.gss] = area
        if area.key and (area.key not in self.by_key or not area.ended):
            self.by_key[area.key] = area
        if area.code and area.kind != "police-area":
            self.by_code[area.code.upper()] = area
        for alias in area.aliases:
            self.by_alias.setdefault(alias, area)

    def lookup(self, text: str) -> Area | None:
        """The area a key, alias, GSS code or register code names, else None."""
        value = text.strip()
        lower = value.lower()
        upper = value.upper()
        return (
            self.by_key.get(lower)
            or self.by_gss.get(upper)
            or self.by_alias.get(lower)
            or self.by_code.get(upper)
        )

    def current(self, area: Area) -> Area:
        """An abolished area's (first) successor, followed to one that exists today."""
        seen = set()
        while area.ended and area.successor and area.gss not in seen:
            seen.add(area.gss)
            nxt = self.by_gss.get(area.successor.split(";")[0])
            if nxt is None:
                break
            area = nxt
        return area

    def chain(self, area: Area) -> list[Area]:
        """What `area` lies within, nearest first: district, county, combined authority,
        police area, nation, UK (each once, abolished ones replaced by their successors)."""
        out: list[Area] = []
        district = self.by_gss.get(area.district) if area.district else None
        if district is not None:
            district = self.current(district)
            out.append(district)
        base = district or area
        for gss in (base.county, base.combined, base.police):
            found = self.by_gss.get(gss) if gss else None
            if found is not None and found.ended:
                found = self.current(found) if found.kind in COMBINED else None
            if found is not None:
                out.append(found)
        nation = {"ENG": "eng", "WLS": "wls", "SCT": "sct", "NIR": "nir"}.get(area.nation)
        for key in (nation, "uk"):
            if key and key in self.by_key:
                out.append(self.by_key[key])
        result: list[Area] = []
        for member in out:
            if member.gss != area.gss and member not in result:
                result.append(member)
        return result

    def find(self, text: str, limit: int = 20) -> tuple[list[Area], int]:
        """Areas whose code, key or name matches `text` (exact matches first); and how many
        matched in all, so that a caller can say how many it left out."""
        value = text.strip()
        if not value:
            return [], 0
        exact = self.lookup(value)
        needle = value.casefold()
        hits = [a for a in self.by_gss.values() if needle in a.name.casefold()]
        hits.sort(key=lambda a: (a.ended != "", _kind_rank(a.kind), a.name, a.gss))
        if exact is not None:
            hits = [exact, *[a for a in hits if a.gss != exact.gss]]
        return hits[:limit], len(hits)

    def suggest(self, text: str, extra: Iterable[str] = (), n: int = 3) -> list[str]:
        """The closest known keys to a mistyped one (difflib), for "did you mean ...?"."""
        names = {*self.by_key, *self.by_alias, *extra}
        return difflib.get_close_matches(text.strip().lower(), sorted(names), n=n, cutoff=0.75)


def _kind_rank(kind: str) -> int:
    order = ("county", "unitary", "metropolitan", "london-borough", "district", "city-of-london")
    if kind in order:
        return order.index(kind)
    return 10 if kind in PARISH else 6


def parse_table(text: str) -> AreaRegister:
    first, _, rest = text.partition("\n")
    vintage = first.lstrip("# ").strip() if first.startswith("#") else ""
    register = AreaRegister(vintage)
    rows = csv.reader(io.StringIO(rest if vintage else text))
    header = next(rows)
    if tuple(header) != _COLUMNS:
        raise ValueError(f"the area table's columns are {header}, not {_COLUMNS}")
    for gss, kind, name, key, nation, code, dis, cty, comb, pol, end, succ, al, note in rows:
        register.add(
            Area(
                gss,
                kind,
                name,
                key,
                nation,
                code,
                dis,
                cty,
                comb,
                pol,
                end,
                succ,
                tuple(al.split(";")) if al else (),
                note,
            )
        )
    return register


@functools.cache
def _shipped_text() -> str:
    data = resources.files("purdah").joinpath("data", "areas.csv.gz").read_bytes()
    return gzip.decompress(data).decode("utf-8")


@functools.cache
def shipped() -> AreaRegister:
    """The register as shipped (cached: the first call reads and parses the table)."""
    return parse_table(_shipped_text())


def with_parishes(parishes: Iterable[tuple[str, str, str, str]], vintage: str) -> AreaRegister:
    """The shipped register with a clerk's parish lookup laid over it: rows of (GSS, name,
    district GSS, source). A parish in both takes the imported district and name."""
    base = shipped()
    register = AreaRegister(base.vintage, overlay=vintage)
    register.by_gss = dict(base.by_gss)
    register.by_key = dict(base.by_key)
    register.by_alias = dict(base.by_alias)
    register.by_code = dict(base.by_code)
    for gss, name, district, source in parishes:
        old = base.by_gss.get(gss)
        home = register.current(register.by_gss[district]) if district in register.by_gss else None
        area = Area(
            gss=gss,
            kind="community" if gss.startswith("W") else "parish",
            name=name,
            key="",
            nation=home.nation if home else ("WLS" if gss.startswith("W") else "ENG"),
            district=home.gss if home else district,
            source=source,
        )
        register.add(replace(area, aliases=old.aliases) if old else area)
    return register
