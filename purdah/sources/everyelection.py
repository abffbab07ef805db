"""Democracy Club's EveryElection JSON as an election source (pure: no I/O here).

Accepted shapes, recognised by content: the API's paginated list (`count`, `next`,
`results`: `/api/elections/`), one election object, a bare list of them, and the
developer API's postcode response (`dates[].ballots[]`).

Each election is placed in the area register without --area: by its organisation
(`official_identifier`, the mySociety register code such as ADU, or a GSS code; then
its `slug`), else by the organisation slug in its id. Groups: a date group
(`local.2026-05-07`) is never a poll itself, its children are; an organisation group
(`local.nottinghamshire.2025-05-01`) stands for its divisions (the children are matched
to it by organisation and not recorded twice), unless every child is a by-election, when
the children are the polls (a ward by-election restricts a ward-scoped council's ward
only). `cancelled` cancels; `cancelled` with `replaced_by` is a move to the replacement's
date (the two are one poll, known by the first id of the chain); `deleted` withdraws.

Identity: a poll's UID is its first election id (`replaces` followed back), so a
re-download or a moved poll updates the same row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from purdah.coverage import default_area
from purdah.errors import EveryElectionError as EveryElectionError  # re-exported
from purdah.errors import PurdahError
from purdah.ids import ElectionId, Nation, parse_election_id

FORMAT = "everyelection"
MAX_PAGES = 500


@dataclass(frozen=True)
class EEPoll:
    key: str  # the UID: the first election id of a replacement chain
    election_id: str
    poll_date: date
    type: str
    area: str
    nation: str | None
    title: str
    cancelled: bool = False
    deleted: bool = False
    original_date: date | None = None  # set when the poll moved (cancelled, replaced)
    notice_deadline: date | None = None
    notes: tuple[str, ...] = ()


@dataclass
class EEPlan:
    polls: list[EEPoll] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # id, title, reason
    matched: int = 0  # children folded into their organisation's poll


def looks_like(data: bytes) -> bool:
    """Whether `data` is EveryElection JSON (not an iCalendar file)."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"["):
        return False
    try:
        return bool(elections_of(json.loads(data.decode("utf-8-sig")))) or _is_empty_page(data)
    except (ValueError, UnicodeDecodeError, EveryElectionError):
        return False


def _is_empty_page(data: bytes) -> bool:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except ValueError:
        return False
    return isinstance(value, dict) and "results" in value and "count" in value


def load(data: bytes, label: str) -> tuple[list[dict[str, Any]], str | None]:
    """The elections in one document, and its `next` page URL (or None)."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise EveryElectionError(f"{label}: not UTF-8 (byte {exc.start})") from None
    except ValueError as exc:
        raise EveryElectionError(f"{label}: not valid JSON ({exc})") from None
    elections = elections_of(value)
    if not elections and not (isinstance(value, dict) and "results" in value):
        raise EveryElectionError(
            f"{label}: JSON, but not EveryElection elections (no results, election_id or "
            "dates[].ballots)"
        )
    nxt = value.get("next") if isinstance(value, dict) else None
    return elections, nxt if isinstance(nxt, str) and nxt else None


def elections_of(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [e for e in value if isinstance(e, dict) and "election_id" in e]
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("results"), list):
        return elections_of(value["results"])
    if "election_id" in value:
        return [value]
    if isinstance(value.get("dates"), list):
        out: list[dict[str, Any]] = []
        for day in value["dates"]:
            if isinstance(day, dict):
                out += elections_of(day.get("ballots") or [])
        return out
    return []


def fetch_pages(
    first: bytes,
    location: str,
    fetch: Callable[[str], bytes],
    *,
    max_pages: int = MAX_PAGES,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every election of a paginated response, following `next` (on the same host,
    https only, at most `max_pages`); and notes of what was done or refused."""
    from urllib.parse import urlsplit

    elections, nxt = load(first, location)
    notes: list[str] = []
    host = urlsplit(location).netloc if "://" in location else None
    pages = 1
    seen = {location}
    while nxt:
        parts = urlsplit(nxt)
        if parts.scheme != "https" or (host is not None and parts.netloc != host):
            raise EveryElectionError(
                f"{location}: page {pages} points its next page to {nxt!r}, which is not "
                "https on the same host; nothing imported"
            )
        if host is None:
            notes.append(
                f"a saved page whose next page ({nxt}) was not read: elections missing from "
                "it are left as they are (import the API URL itself to read every page)"
            )
            break
        if nxt in seen:
            raise EveryElectionError(f"{location}: page {pages} points back to {nxt}")
        if pages >= max_pages:
            raise EveryElectionError(
                f"{location}: more than {max_pages} pages; nothing imported (narrow the "
                "query, e.g. future=1 or organisation_identifier=)"
            )
        seen.add(nxt)
        more, nxt = load(fetch(nxt), nxt)
        elections += more
        pages += 1
    return elections, notes


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


Place = Callable[[ElectionId, dict[str, Any]], tuple[str | None, str | None]]


def plan(elections: list[dict[str, Any]], place: Place) -> EEPlan:
    """The polls these elections call for. `place(parsed id, election)` returns the area
    key and nation for one election, or (None, reason)."""
    result = EEPlan()
    by_id: dict[str, dict[str, Any]] = {}
    for e in elections:
        eid = str(e.get("ballot_paper_id") or e.get("election_id") or "").strip()
        if eid:
            by_id[eid] = e
    parsed: dict[str, ElectionId] = {}
    for eid, e in by_id.items():
        try:
            parsed[eid] = parse_election_id(eid)
        except PurdahError as exc:
            result.skipped.append((eid, _title(e), str(exc)))
    # Children named by a group but absent from the data are polls too (ids alone).
    for eid, e in list(by_id.items()):
        for child in e.get("children") or []:
            if isinstance(child, str) and child not in by_id:
                try:
                    parsed[child] = parse_election_id(child)
                except PurdahError as exc:
                    result.skipped.append((child, "", str(exc)))
                    continue
                by_id[child] = {"election_id": child, "group": eid, "_synthetic": True}

    def children(eid: str) -> list[str]:
        named = [c for c in by_id[eid].get("children") or [] if c in parsed]
        pointing = [c for c, e in by_id.items() if e.get("group") == eid and c in parsed]
        return list(dict.fromkeys(named + pointing))

    def group_kind(eid: str) -> str:
        e = by_id[eid]
        kind = e.get("group_type")
        if kind:
            return str(kind)
        if children(eid):
            p = parsed[eid]
            return "organisation" if p.organisation else "election"
        return ""

    # Which groups stand for their children: an organisation's, and a whole area's.
    folded: dict[str, str] = {}
    for eid, p in parsed.items():
        if group_kind(eid) in ("election", "subtype") and not p.organisation and _group_stands(p):
            for kid in children(eid):
                if not parsed[kid].by_election:
                    folded[kid] = eid
        if group_kind(eid) == "organisation" and p.organisation:
            kids = children(eid)
            if kids and all(parsed[k].by_election for k in kids):
                continue  # by-elections only: each child is its own poll
            for kid in kids:
                if not parsed[kid].by_election:
                    folded[kid] = eid
    previous: dict[str, str] = {}  # replacement id -> the id it replaces
    for eid, e in by_id.items():
        if isinstance(e.get("replaces"), str) and e["replaces"]:
            previous[eid] = str(e["replaces"])
        if isinstance(e.get("replaced_by"), str) and e["replaced_by"]:
            previous[str(e["replaced_by"])] = eid
    replaced = set(previous.values())

    def root(eid: str) -> str:
        seen = set()
        while eid in previous and eid not in seen:
            seen.add(eid)
            eid = previous[eid]
        return eid

    for eid, p in parsed.items():
        e = by_id[eid]
        title = _title(e)
        kind = group_kind(eid)
        if kind in ("election", "subtype") and not p.organisation and children(eid):
            if _group_stands(p):
                pass  # parl.2029-08-16 and the like: the whole area's poll
            else:
                result.matched += 1
                continue  # a date group: its children are the polls
        elif kind == "organisation" and eid not in folded:
            kids = children(eid)
            if kids and all(parsed[k].by_election for k in kids):
                result.matched += 1
                continue
        if eid in folded:
            result.matched += 1
            continue
        if eid in replaced and not e.get("deleted"):
            continue  # recorded under its replacement (below), as one poll
        area, nation_or_reason = place(p, e)
        if area is None:
            result.skipped.append((eid, title, nation_or_reason or "cannot place it"))
            continue
        key = root(eid)
        original = parsed[key].poll_date if key != eid and key in parsed else None
        notes: list[str] = []
        if original is not None:
            notes.append(f"replaces {key} (poll {original}); recorded as the same poll, moved")
        poll_date = _day(e.get("poll_open_date")) or p.poll_date
        timetable = e.get("timetable") if isinstance(e.get("timetable"), dict) else {}
        cancelled = bool(e.get("cancelled")) and not e.get("replaced_by")
        if cancelled and e.get("cancellation_reason"):
            notes.append(f"cancelled: {e['cancellation_reason']}")
        result.polls.append(
            EEPoll(
                key=key,
                election_id=eid,
                poll_date=poll_date,
                type=p.type,
                area=area,
                nation=nation_or_reason,
                title=title,
                cancelled=cancelled,
                deleted=bool(e.get("deleted")),
                original_date=original,
                notice_deadline=_day((timetable or {}).get("notice_of_election_deadline")),
                notes=tuple(notes),
            )
        )
    # A by-election with no nation in a document whose other polls all lie in one nation
    # (a postcode response is about one place): that nation, said in a note.
    nations = {poll.nation for poll in result.polls if poll.nation}
    if len(nations) == 1:
        only = next(iter(nations))
        result.polls = [
            replace(
                poll,
                nation=only,
                notes=(*poll.notes, f"nation {only} from the other polls in the same response"),
            )
            if poll.nation is None and poll.type == "parl" and ".by." in poll.election_id
            else poll
            for poll in result.polls
        ]
    # A replaced ballot whose replacement is absent: the move, from its own data.
    present = {poll.election_id for poll in result.polls}
    for old in replaced:
        e = by_id.get(old, {})
        new = e.get("replaced_by")
        if not isinstance(new, str) or new in present or new in by_id:
            continue
        try:
            p = parse_election_id(new)
        except PurdahError as exc:
            result.skipped.append((old, _title(e), f"replaced by {new!r}: {exc}"))
            continue
        area, nation = place(p, e)
        if area is None:
            result.skipped.append((old, _title(e), nation or "cannot place it"))
            continue
        result.polls.append(
            EEPoll(
                key=root(old),
                election_id=new,
                poll_date=p.poll_date,
                type=p.type,
                area=area,
                nation=nation,
                title=_title(e),
                original_date=parsed[old].poll_date if old in parsed else None,
                notes=(f"{old} was cancelled and replaced by {new}; recorded as moved",),
            )
        )
    return result


def _group_stands(p: ElectionId) -> bool:
    """A group without an organisation that is itself one poll of a whole area."""
    return default_area(p, Nation.UK) is not None and p.type not in ("local", "mayor", "pcc")


def _title(e: dict[str, Any]) -> str:
    for key in ("election_title", "ballot_title", "election_name"):
        if isinstance(e.get(key), str) and e[key]:
            return str(e[key])
    return str(e.get("election_id") or "")


def since_url(url: str, since: Any) -> str:
    """The API URL for what changed since an instant (`modified=`). An election in it
    marked `deleted` is withdrawn; one absent from it is unchanged."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "modified"]
    stamp = since.isoformat() if hasattr(since, "isoformat") else str(since)
    query.append(("modified", stamp))
    return urlunsplit(parts._replace(query=urlencode(query)))
