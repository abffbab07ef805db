"""GET /: the clerk's page, server-rendered HTML with no script (usable without JavaScript).

Who may not be promoted or post today and why; each council's windows for the coming
year drawn as a timeline; the subscription links (webcal:// and https://) for every
council and councillor; the feeds and when each was last fetched.

Rendered from templates/page.html with Jinja2 and autoescaping on, so nothing from the
store or the request (the Host header builds the links) reaches the page unescaped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from purdah.clock import LONDON
from purdah.store import Store

YEAR = timedelta(days=365)
MAX_COUNCILS = 200  # a national register: the page lists this many; ?council= shows one
MAX_ROWS = 500  # restricted councillors listed under Today
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class _Council:
    name: str
    slug: str
    path: str = ""
    windows: list[Any] = field(default_factory=list)
    bars: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)


def _when(instant: datetime) -> str:
    return instant.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z")


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
    env.filters["yes_no"] = lambda allowed: "yes" if allowed else "no"
    env.filters["may"] = lambda allowed: "may" if allowed else "may not"
    return env


def render_page(store: Store, now: datetime, base: str, council: str | None = None) -> str:
    from purdah.services.feeds import list_feeds
    from purdah.services.notices import notices_due
    from purdah.services.register import list_councillors, list_councils
    from purdah.services.status import status
    from purdah.services.windows import list_windows

    councils = list_councils(store)
    if council:
        councils = [c for c in councils if c.slug == council.strip().lower()]
    shown = councils[:MAX_COUNCILS]
    slugs = {c.slug for c in shown}
    rows = status(store, now, council, now)
    windows = [
        w
        for w in list_windows(store, council)
        if w.council in slugs and w.end > now and w.start < now + YEAR
    ]
    people = [p for p in list_councillors(store, council) if p.council in slugs]
    context = {
        "now": now,
        "restricted": [r for r in rows if r.may_promote.windows or r.may_post.windows],
        # "Yes, but": the run-up before a window the councils' policy does not restrict in.
        "run_up": sorted({w.message for r in rows for w in r.warnings}),
        "notices": [n for n in notices_due(store, now) if n.councils],
        "max_rows": MAX_ROWS,
        "months": _months(now),
        "timeline": _timeline(shown, windows, now),
        "subscribe": _subscribe(shown, people),
        "base": base,
        "webcal": "webcal://" + base.split("://", 1)[-1],
        "feeds": list_feeds(store),
        "total_councils": len(councils),
        "max_councils": MAX_COUNCILS,
    }
    return str(_environment().get_template("page.html").render(context))


def _months(now: datetime) -> list[dict[str, Any]]:
    months = []
    first = now.astimezone(LONDON).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for i in range(1, 13):
        month = (first + timedelta(days=32 * i)).replace(day=1)
        left = (month - now) / YEAR * 100
        if 0 <= left < 97:
            months.append({"left": left, "label": f"{month:%b %y}"})
    return months


def _timeline(councils: list[Any], windows: list[Any], now: datetime) -> list[_Council]:
    by_council = defaultdict(list)
    for w in windows:
        by_council[w.council].append(w)
    out = []
    for council in councils:
        item = _Council(council.name, council.slug, windows=by_council.get(council.slug, []))
        for w in item.windows:
            left = max((w.start - now) / YEAR, 0.0) * 100
            right = min((w.end - now) / YEAR, 1.0) * 100
            item.bars.append({"left": left, "width": right - left, "election_id": w.election_id})
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
