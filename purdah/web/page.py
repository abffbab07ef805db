"""GET /: the clerk's page, server-rendered HTML with no script (usable without JavaScript).

Who may not be promoted or post today, why and until when (or, when nobody is, when the
next restriction starts); each council's windows for the coming year drawn as a timeline
(months labelled with their year, a line for today, one labelled bar per election so that
overlapping windows show one above the other); the subscription links (webcal:// and
https://) for every council and councillor; the feeds and when each was last fetched.

`?at=WHEN` shows the page as at another time (said at the top); `?council=SLUG` shows one
council. A bad `at` or an unknown council is answered with a page carrying the one error
message (422 or 404), not JSON: the clerk reached it from a browser.

Rendered from templates/page.html with Jinja2 and autoescaping on, so nothing from the
store or the request (the Host header builds the links) reaches the page unescaped. The
layout works from a phone's 390 CSS pixels up (tests/web/test_browser.py measures it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from purdah.clock import LONDON
from purdah.errors import InputError, NotFound
from purdah.store import Store
from purdah.words import plural

MONTHS_SHOWN = 13  # from the first of this month: always twelve months ahead of today
MAX_COUNCILS = 200  # a national register: the page lists this many; ?council= shows one
MAX_ROWS = 500  # restricted councillors listed under Today
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class _Council:
    name: str
    slug: str
    path: str = ""
    bars: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)


def _when(instant: datetime) -> str:
    local = instant.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


def _day(instant: datetime) -> str:
    local = instant.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y}"


@cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["yes_no"] = lambda allowed: "yes" if allowed else "no"
    env.filters["may"] = lambda allowed: "may" if allowed else "may not"
    env.filters["plural"] = plural
    env.filters["pct"] = lambda value: f"{value:.2f}%"
    return env


def page_response(
    store: Store, now: datetime, base: str, council: str | None = None, at: str | None = None
) -> tuple[int, str]:
    """The HTTP status and HTML of the page; a bad `at` (422) or unknown council (404) is
    answered with an error page carrying the message the API would give."""
    from purdah.clock import parse_when
    from purdah.services.tokens import scrub

    try:
        instant = parse_when(at, "at") if at else now
        return 200, render_page(store, now, base, council, instant if at else None)
    except NotFound as exc:
        return 404, render_error(404, scrub(str(exc)))
    except InputError as exc:
        return 422, render_error(422, scrub(str(exc)))


def render_error(status: int, message: str) -> str:
    titles = {404: "Not found", 422: "Not understood"}
    context = {"status": status, "title": titles.get(status, "Error"), "message": message}
    return str(_environment().get_template("error.html").render(context))


def render_page(
    store: Store,
    now: datetime,
    base: str,
    council: str | None = None,
    at: datetime | None = None,
) -> str:
    """The page as at `at` (default `now`); `now` is said beside it when they differ."""
    from purdah.services.feeds import list_feeds
    from purdah.services.notices import notices_due
    from purdah.services.register import list_councillors, list_councils
    from purdah.services.today import today
    from purdah.services.windows import list_windows

    instant = at or now
    registered = list_councils(store)
    names = {c.slug: c.name for c in registered}
    councils = registered
    if council:
        wanted = council.strip().lower()
        councils = [c for c in councils if c.slug == wanted]
        if not councils:
            raise NotFound(f"no council {council!r} in the register: see 'purdah council list'")
    shown = councils[:MAX_COUNCILS]
    slugs = {c.slug for c in shown}
    answer = today(store, instant, council)
    start, end, months = _axis(instant)
    windows = [
        w
        for w in list_windows(store, council)
        if w.council in slugs and w.end > instant and w.start < end
    ]
    people = [p for p in list_councillors(store, council) if p.council in slugs]
    groups, more = _groups(answer, names)
    context = {
        "now": now,
        "at": instant,
        "as_at": at is not None,
        "council": council,
        "today": answer,
        "groups": groups,
        "more": more,
        "next": _next_restriction(answer, names),
        "name_of": lambda election_id: _election_name(election_id, names),
        # "Yes, but": the run-up before a window the councils' policy does not restrict in.
        "run_up": sorted(
            {w.message for c in answer.councils for w in c.warnings}
            | {w.message for _slug, w in answer.warnings}
        ),
        "notices": [n for n in notices_due(store, instant) if n.councils],
        "months": months,
        "today_left": _left(instant, start, end),
        "timeline": _timeline(shown, windows, instant, start, end, names),
        "subscribe": _subscribe(shown, people),
        "base": base,
        "webcal": "webcal://" + base.split("://", 1)[-1],
        "feeds": list_feeds(store),
        "total_councils": len(councils),
        "max_councils": MAX_COUNCILS,
    }
    return str(_environment().get_template("page.html").render(context))


def _election_name(election_id: str, names: dict[str, str]) -> str:
    """ "Ashfield District Council election": the words the feeds use for it."""
    from purdah.errors import ElectionIdError
    from purdah.ical.writer import election_name
    from purdah.ids import parse_election_id

    try:
        organisation = parse_election_id(election_id).organisation
    except ElectionIdError:
        return election_id
    return election_name(election_id, names.get(organisation or ""))


def _groups(answer: Any, names: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Each council with someone restricted: its windows in force (named) and its people,
    each with why and until when; at most MAX_ROWS people in all, and how many more."""
    groups, listed = [], 0
    for council in answer.councils:
        rows = []
        for r in council.councillors[: max(MAX_ROWS - listed, 0)]:
            why = "; ".join(
                f"the {_election_name(s.election_id, names)} window ({s.election_id})"
                for s in r.may_promote.windows
            )
            grant = r.may_post.exemption
            if grant is not None:
                why += f"; exemption #{grant.id} lets them post: {grant.reason}"
            rows.append({"r": r, "why": why})
        listed += len(rows)
        if rows:
            windows = [
                {"span": s, "name": _election_name(s.election_id, names)} for s in council.windows
            ]
            groups.append({"council": council, "windows": windows, "rows": rows})
    return groups, answer.count - listed


def _next_restriction(answer: Any, names: dict[str, str]) -> dict[str, Any] | None:
    found = answer.next_restriction
    if found is None:
        return None
    return {
        "start": found.start,
        "election": _election_name(found.election_id, names),
        "election_id": found.election_id,
        "councils": [name for _slug, name in found.councils],
    }


def _month(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=LONDON)


def _axis(at: datetime) -> tuple[datetime, datetime, list[dict[str, Any]]]:
    """The timeline's span, from the first of `at`'s month (London) for MONTHS_SHOWN
    months, and a label for each month: "Jan 2027", quarters marked for narrow screens."""
    local = at.astimezone(LONDON)
    firsts = [_month(local.year, local.month + i) for i in range(MONTHS_SHOWN + 1)]
    start, end = firsts[0], firsts[-1]
    months = [
        {"left": _left(m, start, end), "label": f"{m:%b %Y}", "quarter": m.month % 3 == 1}
        for m in firsts[:-1]
    ]
    return start, end, months


def _left(instant: datetime, start: datetime, end: datetime) -> float:
    return min(max((instant - start) / (end - start), 0.0), 1.0) * 100


def _timeline(
    councils: list[Any],
    windows: list[Any],
    at: datetime,
    start: datetime,
    end: datetime,
    names: dict[str, str],
) -> list[_Council]:
    by_council = defaultdict(list)
    for w in windows:
        by_council[w.council].append(w)
    out = []
    for council in councils:
        item = _Council(council.name, council.slug)
        mine = by_council.get(council.slug, [])
        for w in mine:
            left = _left(w.start, start, end)
            overlaps = [
                o.election_id
                for o in mine
                if o is not w and o.start < w.end and w.start < o.end and o.ward == w.ward
            ]
            item.bars.append(
                {
                    "left": left,
                    "width": _left(w.end, start, end) - left,
                    "window": w,
                    "name": _election_name(w.election_id, names),
                    "in_force": w.start <= at < w.end,
                    "before": w.start < start,
                    "after": w.end > end,
                    "overlaps": overlaps,
                }
            )
        out.append(item)
    return out


def _subscribe(councils: list[Any], people: list[Any]) -> list[_Council]:
    by_council = defaultdict(list)
    for p in people:
        by_council[p.council].append(p)
    return [
        _Council(
            council.name,
            council.slug,
            path=f"/calendars/{council.slug}.ics",
            people=[
                {"name": p.name, "path": f"/calendars/{council.slug}/{p.slug}.ics"}
                for p in by_council.get(council.slug, [])
            ],
        )
        for council in councils
    ]
