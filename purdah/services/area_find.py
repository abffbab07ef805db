"""The area register read without SQLAlchemy: `purdah council find` and `purdah areas
info` stay cheap (the store's plain read path, purdah.store.Store.query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from purdah.coverage import mayor_holds_police
from purdah.sources.areas import Area, AreaRegister, shipped, with_parishes
from purdah.store import Store


@dataclass(frozen=True)
class ChainMember:
    gss: str
    name: str
    kind: str
    slug: str
    note: str = ""


@dataclass(frozen=True)
class Found:
    area: ChainMember
    nation: str
    chain: list[ChainMember]
    ended: str = ""
    successor: str = ""


@dataclass(frozen=True)
class FindResult:
    query: str
    found: list[Found]
    total: int
    vintage: str


def _overlaid(rows: list[tuple[Any, ...]]) -> AreaRegister:
    if not rows:
        return shipped()
    vintage = str(rows[0][3])
    return with_parishes(((g, n, d, f"imported {vintage}") for g, n, d, _v in rows), vintage)


def read_register(store: Store) -> AreaRegister:
    """As register_for, through the store's plain read path (no SQLAlchemy on SQLite)."""
    return _overlaid(store.query("SELECT gss, name, district, vintage FROM parish_lookup", {}))


def vintage_text(register: AreaRegister) -> str:
    text = f"area register: {register.vintage}"
    if register.overlay:
        text += f"; parishes from the clerk's import ({register.overlay})"
    return text


def _member(register: AreaRegister, area: Area) -> ChainMember:
    note = area.note
    if area.kind == "police-area" and mayor_holds_police(area.code):
        note = note or "no PCC election: the mayor holds the police functions"
    return ChainMember(area.gss, area.name, area.kind, area.key, note)


def _found(register: AreaRegister, area: Area) -> Found:
    chain = [_member(register, a) for a in register.chain(area)]
    return Found(_member(register, area), area.nation, chain, area.ended, area.successor)


def find_areas(store: Store, text: str, *, limit: int = 20) -> FindResult:
    register = read_register(store)
    hits, total = register.find(text, limit)
    return FindResult(text, [_found(register, a) for a in hits], total, vintage_text(register))


def register_summary(store: Store) -> dict[str, Any]:
    """The register's vintage and how many areas of each kind it holds."""
    from collections import Counter

    register = read_register(store)
    counts = Counter(a.kind for a in register.by_gss.values() if not a.ended)
    return {
        "vintage": vintage_text(register),
        "counts": dict(sorted(counts.items())),
        "abolished": sum(1 for a in register.by_gss.values() if a.ended),
    }
