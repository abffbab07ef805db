"""Build the shipped area register (purdah/data/areas.csv.gz) from the source files.

    python -m purdah.sources.build [SOURCES_DIR] [OUT_FILE]

Sources (data/sources/ in the repository, with their licences in data/sources/README.md):
mySociety's uk_local_authorities_future.csv (CC-BY-4.0), the ONS LAD19 -> PFA19 and
PAR19 -> LAD19 lookups (OGL v3). The output is deterministic (gzip without a timestamp),
so a test can check that the shipped table is exactly what this script builds.

Corrections made here, each with its source:
- the North East Combined Authority (E47000010) and the North of Tyne Combined
  Authority (E47000011) were abolished on 7 May 2024 and replaced by the North East
  Mayoral Combined Authority (SI 2024/402); its GSS code E47000014 was found in two
  independent public code lists (the mySociety file has neither change);
- the Devon and Torbay (SI 2025/115) and Lancashire (SI 2025/118) combined county
  authorities, established February 2025, are missing from the mySociety file; their GSS
  codes (E47000015, E47000018) come from one public code list (flagged in the note);
- abolished districts map to their successors (mySociety `replaced-by`), so a parish
  whose 2019 district was Harrogate lies in North Yorkshire;
- the police area of a unitary created since 2019 is that of its predecessors.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from collections import defaultdict
from pathlib import Path

VINTAGE = (
    "mySociety local authorities July 2025 (CC-BY-4.0); ONS parishes and police force "
    "areas December 2019 (OGL v3); corrected to SI 2024/402, SI 2025/115, SI 2025/118"
)
COLUMNS = (
    "gss",
    "kind",
    "name",
    "key",
    "nation",
    "code",
    "district",
    "county",
    "combined",
    "police",
    "ended",
    "successor",
    "aliases",
    "note",
)

_KINDS = {
    "NMD": "district",
    "CTY": "county",
    "UA": "unitary",
    "MD": "metropolitan",
    "LBO": "london-borough",
    "SCO": "unitary",
    "NID": "district",
    "WPA": "unitary",
    "CC": "city-of-london",
    "SRA": "greater-london-authority",
}
_NATIONS = {"England": "ENG", "Wales": "WLS", "Scotland": "SCT", "Northern Ireland": "NIR"}
NATION_ROWS = (
    ("K02000001", "United Kingdom", "uk", ""),
    ("E92000001", "England", "eng", "ENG"),
    ("W92000004", "Wales", "wls", "WLS"),
    ("S92000003", "Scotland", "sct", "SCT"),
    ("N92000002", "Northern Ireland", "nir", "NIR"),
)

# Combined (county) authorities: the key is the organisation slug Democracy Club uses in
# mayoral election ids where one was seen (mayor.greater-manchester-ca.2017-05-04,
# mayor.liverpool-city-ca, mayor.west-midlands, mayor.tees-valley,
# mayor.cambridgeshire-and-peterborough, mayor.west-of-england, mayor.sheffield-city-ca);
# the others are derived from the common name and their older or longer names are aliases.
# Checked against their establishing instruments: East Midlands CCA, SI 2024/232 (made 27
# February 2024: Derby, Derbyshire, Nottingham, Nottinghamshire, as in the mySociety file);
# York and North Yorkshire CA, SI 2023/1432 (established 1 February 2024: York, North
# Yorkshire). The other rows' members and dates were checked against the mySociety file
# only. Authorities established after its vintage (e.g. Hampshire and the Solent, SI
# 2026/595) are not here: a clerk adds them with --new-area.
_COMBINED: dict[str, tuple[str, tuple[str, ...]]] = {
    "GMCA": ("greater-manchester-ca", ("greater-manchester",)),
    "LCR": ("liverpool-city-ca", ("liverpool-city-region",)),
    "SCR": ("south-yorkshire", ("sheffield-city-ca", "sheffield-city-region")),
    "WYCA": ("west-yorkshire", ("west-yorkshire-ca",)),
    "TVCA": ("tees-valley", ("tees-valley-ca",)),
    "WMCA": ("west-midlands", ("west-midlands-ca",)),
    "CPCA": ("cambridgeshire-and-peterborough", ("cambridgeshire-and-peterborough-ca",)),
    "WECA": ("west-of-england", ("west-of-england-ca",)),
    "YNYC": ("york-and-north-yorkshire", ("york-and-north-yorkshire-ca",)),
    "EMCA": ("east-midlands-cca", ("east-midlands",)),
    "GLCA": ("greater-lincolnshire-cca", ("greater-lincolnshire",)),
    "HYCA": ("hull-and-east-yorkshire", ("hull-and-east-yorkshire-ca",)),
}
NEMCA = "E47000014"
_ADDED_COMBINED = (
    # gss, code, name, key, aliases, members (register codes), note
    (
        NEMCA,
        "NEMCA",
        "North East Mayoral Combined Authority",
        "north-east",
        "north-east-ca;north-east-mayoral-ca",
        ("DUR", "GAT", "NET", "NTY", "NBL", "STY", "SND"),
        "established 7 May 2024, replacing the North East and North of Tyne combined "
        "authorities (SI 2024/402); first mayor elected 2 May 2024",
    ),
    (
        "E47000015",
        "DTCCA",
        "Devon and Torbay Combined County Authority",
        "devon-and-torbay-cca",
        "devon-and-torbay",
        ("DEV", "TOB"),
        "established February 2025 (SI 2025/115), no mayor; GSS code from one public "
        "code list, not yet in the mySociety file",
    ),
    (
        "E47000018",
        "LCCA",
        "Lancashire Combined County Authority",
        "lancashire-cca",
        "",
        ("LAN", "BBD", "BPL"),
        "established February 2025 (SI 2025/118), no mayor; GSS code from one public "
        "code list, not yet in the mySociety file",
    ),
)
_ABOLISHED_COMBINED = {"NECA": "2024-05-07", "NTCA": "2024-05-07"}

# Where the elected mayor holds the police and crime commissioner's functions there is
# no PCC election: the police area's polls are the mayor's (data/README.md).
MAYOR_POLICE = {
    "E23000005": ("greater-manchester-ca", "since 2017"),
    "E23000010": ("west-yorkshire", "since 2021"),
    "E23000009": ("york-and-north-yorkshire", "since 2024"),
    "E23000011": ("south-yorkshire", "since 2024"),
    "E23000001": ("london", "the Mayor's Office for Policing and Crime"),
}
_POLICE_NOTES = {
    "E23000034": "no PCC election: the City of London Corporation is its police authority",
}


def slugify(text: str) -> str:
    text = text.lower().replace("&", " and ").replace("'", "").replace(".", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _council_slug(nice_name: str) -> str:
    slug = slugify(nice_name)
    return slug[4:] if slug.startswith("the-") else slug


def _police_key(name: str) -> str:
    base = slugify(name.replace("London, City of", "City of London"))
    base = base.removesuffix("-police")
    return f"{base}-police"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def build_rows(sources: Path) -> list[dict[str, str]]:
    authorities = [
        r for r in _read(sources / "uk_local_authorities_future.csv") if r["gss-code"].strip()
    ]
    police_rows = _read(sources / "ons_lad19_csp19_pfa19.csv")
    parishes = _read(sources / "ons_parishes_par19_lad19.csv")

    by_code = {r["local-authority-code"]: r for r in authorities}
    gss_of = {code: r["gss-code"] for code, r in by_code.items()}
    for gss, code, *_ in _ADDED_COMBINED:
        gss_of[code] = gss
    gss_of["GLA"] = by_code["GLA"]["gss-code"]

    def successor(row: dict[str, str]) -> list[str]:
        return [gss_of[c] for c in row["replaced-by"].split(",") if c.strip() in gss_of]

    # Police force area of each 2019 district, and of successors through their predecessors.
    police_of = {r["LAD19CD"]: r["PFA19CD"] for r in police_rows}
    police_names = {r["PFA19CD"]: r["PFA19NM"] for r in police_rows}
    inherited: dict[str, set[str]] = defaultdict(set)
    for row in authorities:
        if row["end-date"] and row["gss-code"] in police_of:
            for new in successor(row):
                inherited[new].add(police_of[row["gss-code"]])
    for new, forces in inherited.items():
        if new not in police_of:
            if len(forces) != 1:
                raise ValueError(f"{new}: predecessors lie in several police areas {forces}")
            police_of[new] = forces.pop()
    by_county: dict[str, set[str]] = defaultdict(set)
    for row in authorities:
        county = row["county-la"]
        if county and not row["end-date"] and row["gss-code"] in police_of:
            by_county[county].add(police_of[row["gss-code"]])
    for county, forces in by_county.items():
        if len(forces) == 1 and county in gss_of:
            police_of.setdefault(gss_of[county], next(iter(forces)))

    member_of: dict[str, str] = {}
    for _gss, _code, _name, _key, _aliases, members, _note in _ADDED_COMBINED:
        for member in members:
            member_of[member] = _code

    def combined_of(row: dict[str, str]) -> str:
        code = row["combined-authority"]
        if row["local-authority-code"] in member_of:
            code = member_of[row["local-authority-code"]]
        if code in _ABOLISHED_COMBINED:  # SI 2024/402: every member joined the new authority
            code = "NEMCA"
        if not code and row["county-la"] in by_code:
            return combined_of(by_code[row["county-la"]])
        return gss_of.get(code, "")

    out: list[dict[str, str]] = []
    keys: dict[str, str] = {}
    aliases_seen: dict[str, set[str]] = defaultdict(set)

    def add(row: dict[str, str]) -> None:
        full = {c: row.get(c, "") for c in COLUMNS}
        out.append(full)
        if full["key"] and not full["ended"]:
            if full["key"] in keys:
                raise ValueError(f"key {full['key']} names {keys[full['key']]} and {full['gss']}")
            keys[full["key"]] = full["gss"]

    for gss, name, key, nation in NATION_ROWS:
        add({"gss": gss, "kind": "nation", "name": name, "key": key, "nation": nation})

    current_first = sorted(
        authorities,
        key=lambda r: (
            bool(r["end-date"] or r["local-authority-code"] in _ABOLISHED_COMBINED),
            r["gss-code"],
        ),
    )
    taken = {row[3] for row in _ADDED_COMBINED}
    for row in current_first:
        kind_code = row["local-authority-type"]
        code = row["local-authority-code"]
        ended = row["end-date"] or _ABOLISHED_COMBINED.get(code, "")
        if kind_code == "COMB":
            kind = (
                "combined-county-authority"
                if "Combined County" in row["official-name"]
                else "combined-authority"
            )
            if code in _COMBINED:
                key, extra = _COMBINED[code]
            else:
                key, extra = slugify(row["nice-name"]), ()
            names = [slugify(row["nice-name"]), *extra]
        elif kind_code == "SRA":
            kind, key, names = _KINDS[kind_code], "london", ["greater-london", "gla"]
        else:
            kind = _KINDS[kind_code]
            key = _council_slug(row["nice-name"])
            names = [row["gov-uk-slug"], slugify(row["nice-name"])]
            names += [slugify(a) for a in row["alt-names"].split(",") if a.strip()]
        if key in taken or code in _ABOLISHED_COMBINED:  # a successor took its name
            key = f"{key}-{row['start-date'][:4]}"
        taken.add(key)
        succ = successor(row)
        if code in _ABOLISHED_COMBINED:
            succ = [NEMCA]
        note = row["notes"]
        if code in _ABOLISHED_COMBINED:
            note = "abolished 7 May 2024 by SI 2024/402; now the North East Mayoral CA"
        county = gss_of.get(row["county-la"], "")
        add(
            {
                "gss": row["gss-code"],
                "kind": kind,
                "name": row["official-name"],
                "key": key,
                "nation": _NATIONS.get(row["nation"], ""),
                "code": code,
                "county": county,
                "combined": "" if kind_code in ("COMB", "SRA") else combined_of(row),
                "police": police_of.get(row["gss-code"], ""),
                "ended": ended,
                "successor": ";".join(succ),
                "aliases": ";".join(sorted({n for n in names if n and n != key})),
                "note": note,
            }
        )
    for gss, code, name, key, aliases, _members, note in _ADDED_COMBINED:
        kind = "combined-county-authority" if "County" in name else "combined-authority"
        add(
            {
                "gss": gss,
                "kind": kind,
                "name": name,
                "key": key,
                "nation": "ENG",
                "code": code,
                "aliases": aliases,
                "note": note,
            }
        )
    for force in sorted(police_names):
        name = police_names[force].replace("London, City of", "City of London")
        mayor = MAYOR_POLICE.get(force)
        note = (
            f"no PCC election: the mayor ({mayor[0]}) holds the police functions, {mayor[1]}"
            if mayor
            else _POLICE_NOTES.get(force, "")
        )
        add(
            {
                "gss": force,
                "kind": "police-area",
                "name": name if name.endswith("Police") else f"{name} Police",
                "key": _police_key(name),
                "nation": "WLS" if force.startswith("W") else "ENG",
                "code": slugify(name.removesuffix(" Police")),
                "note": note,
            }
        )
    gss_rows = {r["gss"]: r for r in out}
    for parish in parishes:
        district = parish["LAD19CD"]
        row = gss_rows[district]
        note = ""
        while row["ended"] and row["successor"]:
            note = f"its 2019 district {row['name']} ({row['gss']}) was abolished {row['ended']}"
            row = gss_rows[row["successor"].split(";")[0]]
        welsh = parish["PAR19NMW"].strip()
        add(
            {
                "gss": parish["PAR19CD"],
                "kind": "community" if parish["PAR19CD"].startswith("W") else "parish",
                "name": parish["PAR19NM"].strip(),
                "nation": row["nation"],
                "district": row["gss"],
                "aliases": slugify(welsh) if welsh else "",
                "note": note,
            }
        )
    # Aliases that would name two areas are dropped: they would be guesses.
    for r in out:
        for alias in r["aliases"].split(";"):
            if alias:
                aliases_seen[alias].add(r["gss"])
    for r in out:
        kept = [
            a
            for a in r["aliases"].split(";")
            if a and len(aliases_seen[a]) == 1 and (a not in keys or keys[a] == r["gss"])
        ]
        r["aliases"] = ";".join(kept)
    return out


def build_table(sources: Path) -> bytes:
    """The shipped table's bytes: a gzipped CSV (no timestamp, so the build is repeatable)."""
    text = io.StringIO()
    text.write(f"# {VINTAGE}\n")
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(build_rows(sources))
    return gzip.compress(text.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    sources = Path(argv[1]) if len(argv) > 1 else root / "data" / "sources"
    target = Path(argv[2]) if len(argv) > 2 else root / "purdah" / "data" / "areas.csv.gz"
    data = build_table(sources)
    target.write_bytes(data)
    print(f"wrote {target} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
