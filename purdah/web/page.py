"""GET /: the clerk's page, server-rendered HTML with no script (usable without JavaScript).

Who may not be promoted or post today and why; each council's windows for the coming
year drawn as a timeline; the subscription links (webcal:// and https://) for every
council and councillor; the feeds and when each was last fetched.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from html import escape

from purdah.clock import LONDON
from purdah.store import Store

YEAR = timedelta(days=365)
MAX_COUNCILS = 200  # a national register: the page lists this many; ?council= shows one

_CSS = """
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 1.5rem;
color:#1b1b1b}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem;
border-bottom:2px solid #ddd}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #e5e5e5;vertical-align:top}
.no{color:#a00;font-weight:600}.yes{color:#060}.muted{color:#666}
.track{position:relative;height:1.6rem;background:#f3f3f3;border-radius:3px;margin:.2rem 0}
.bar{position:absolute;top:0;bottom:0;background:#c0392b;border-radius:3px;min-width:3px}
.months{position:relative;height:1.2rem;font-size:.75rem;color:#666}
.months span{position:absolute;top:0}
.council{margin:1rem 0}.council h3{font-size:1rem;margin:.2rem 0}
ul.periods{margin:.2rem 0 .8rem 1.2rem;padding:0;font-size:.9rem}
code{background:#f3f3f3;padding:0 .25rem}
"""


def _when(instant: datetime) -> str:
    return escape(instant.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z"))


def render_page(store: Store, now: datetime, base: str, council: str | None = None) -> str:
    from purdah.services.feeds import list_feeds
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
    feeds = list_feeds(store)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>purdah: pre-election periods</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>Pre-election periods</h1>",
        f"<p class='muted'>As of {_when(now)}. Councillors' own personal accounts are not "
        "restricted; this is about the council's accounts and the council promoting them.</p>",
        "</header><main>",
        _today(rows),
        _timeline(shown, windows, now),
        _subscribe(shown, people, base),
        _feeds(feeds),
        "</main>",
    ]
    if len(councils) > MAX_COUNCILS:
        parts.append(
            f"<p class='muted'>Showing {MAX_COUNCILS} of {len(councils)} councils: "
            "add <code>?council=SLUG</code> for one.</p>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def _today(rows: list) -> str:  # type: ignore[type-arg]
    restricted = [r for r in rows if r.may_promote.windows or r.may_post.windows]
    html = ["<section id='today'><h2>Today</h2>"]
    if not restricted:
        html.append(
            "<p>No councillor is restricted today: the council may promote every "
            "councillor, and those it has agreed may post on its accounts.</p>"
        )
        return "".join(html) + "</section>"
    html.append(
        f"<p>{len(restricted)} councillors may not be promoted by the council, "
        "nor post on its accounts:</p><table><thead><tr><th>Councillor</th>"
        "<th>Promote</th><th>Post</th><th>Why</th></tr></thead><tbody>"
    )
    for r in restricted[:500]:
        why = "; ".join(
            f"{escape(s.election_id)} ({_when(s.start)} to {_when(s.end)})"
            for s in r.may_promote.windows
        )
        if r.may_post.exemption or r.may_promote.exemption:
            grant = r.may_post.exemption or r.may_promote.exemption
            why += f"; exemption #{grant.id}: {escape(grant.reason)}"
        html.append(
            f"<tr><td>{escape(r.name)} <span class='muted'>{escape(r.councillor)}</span></td>"
            f"<td class='{_yn(r.may_promote.allowed)}'>{_word(r.may_promote.allowed)}</td>"
            f"<td class='{_yn(r.may_post.allowed)}'>{_word(r.may_post.allowed)}</td>"
            f"<td>{why}</td></tr>"
        )
    html.append("</tbody></table>")
    if len(restricted) > 500:
        html.append(f"<p class='muted'>and {len(restricted) - 500} more: see /api/status.</p>")
    return "".join(html) + "</section>"


def _yn(allowed: bool) -> str:
    return "yes" if allowed else "no"


def _word(allowed: bool) -> str:
    return "may" if allowed else "may not"


def _timeline(councils: list, windows: list, now: datetime) -> str:  # type: ignore[type-arg]
    by_council = defaultdict(list)
    for w in windows:
        by_council[w.council].append(w)
    html = [
        "<section id='timeline'><h2>The coming year</h2>",
        "<p class='muted'>Each council's pre-election windows from today for twelve "
        "months; the list under each bar says the same in words.</p>",
    ]
    months = []
    first = now.astimezone(LONDON).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for i in range(1, 13):
        month = (first + timedelta(days=32 * i)).replace(day=1)
        left = (month - now) / YEAR * 100
        if 0 <= left < 97:
            months.append(f"<span style='left:{left:.2f}%'>{month:%b %y}</span>")
    for council in councils:
        council_windows = by_council.get(council.slug, [])
        html.append(
            f"<div class='council'><h3>{escape(council.name)} "
            f"<span class='muted'>({escape(council.slug)})</span></h3>"
        )
        if not council_windows:
            html.append("<p class='muted'>No pre-election window in the coming year.</p></div>")
            continue
        html.append(
            f"<div class='months' aria-hidden='true'>{''.join(months)}</div>"
            "<div class='track' aria-hidden='true'>"
        )
        for w in council_windows:
            left = max((w.start - now) / YEAR, 0.0) * 100
            right = min((w.end - now) / YEAR, 1.0) * 100
            html.append(
                f"<div class='bar' style='left:{left:.2f}%;width:{right - left:.2f}%' "
                f"title='{escape(w.election_id)}'></div>"
            )
        html.append("</div><ul class='periods'>")
        for w in council_windows:
            basis = "actual notice" if w.actual_notice else "statutory date"
            html.append(
                f"<li><strong>{escape(w.election_id)}</strong>: {_when(w.start)} to "
                f"{_when(w.end)} <span class='muted'>({escape(w.start_basis)}, "
                f"{basis})</span></li>"
            )
        html.append("</ul></div>")
    return "".join(html) + "</section>"


def _subscribe(councils: list, people: list, base: str) -> str:  # type: ignore[type-arg]
    webcal = "webcal://" + base.split("://", 1)[-1]
    html = [
        "<section id='subscribe'><h2>Subscribe</h2>",
        "<p>Add a calendar of the restricted periods to Outlook, Google, Apple or "
        "Thunderbird: <em>webcal</em> opens the calendar app; Outlook on the web wants the "
        "<em>https</em> link. Google refreshes subscriptions only every 12 to 24 hours.</p>",
        "<table><thead><tr><th>Calendar</th><th>Links</th></tr></thead><tbody>",
    ]
    by_council = defaultdict(list)
    for p in people:
        by_council[p.council].append(p)
    for council in councils:
        path = f"/calendars/{escape(council.slug)}.ics"
        html.append(
            f"<tr><td><strong>{escape(council.name)}</strong></td><td>"
            f"<a href='{webcal}{path}'>webcal</a> · <a href='{base}{path}'>https</a>"
            "</td></tr>"
        )
        for p in by_council.get(council.slug, []):
            path = f"/calendars/{escape(council.slug)}/{escape(p.slug)}.ics"
            html.append(
                f"<tr><td>&nbsp;&nbsp;{escape(p.name)}</td><td>"
                f"<a href='{webcal}{path}'>webcal</a> · <a href='{base}{path}'>https</a>"
                "</td></tr>"
            )
    return "".join(html) + "</tbody></table></section>"


def _feeds(feeds: list) -> str:  # type: ignore[type-arg]
    html = ["<section id='feeds'><h2>Election feeds</h2>"]
    if not feeds:
        return (
            "".join(html) + "<p>No feeds registered (<code>purdah feed add</code>).</p></section>"
        )
    html.append(
        "<table><thead><tr><th>Feed</th><th>Polls</th><th>Last fetched</th>"
        "<th>State</th></tr></thead><tbody>"
    )
    for f in feeds:
        fetched = _when(f.last_ok_at) if f.last_ok_at else "never"
        state = (
            f"<span class='no'>failing ({f.failures}x): {escape(f.last_error or '')}</span>"
            if f.last_error
            else "<span class='yes'>ok</span>"
        )
        html.append(
            f"<tr><td>{escape(f.name)}<br><span class='muted'>{escape(f.location)}"
            f"</span></td><td>{f.polls}</td><td>{fetched}</td><td>{state}</td></tr>"
        )
    return "".join(html) + "</tbody></table></section>"
