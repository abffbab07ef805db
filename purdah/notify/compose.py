"""The plain-text e-mails: a councillor's notice (a period starts, changed, was cancelled,
ended) and the clerk's daily digest. Times are UK local time, with the zone said (GMT or
BST), so a notice read in the week of a clock change is still right."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from purdah.clock import LONDON

STARTS, CHANGED, CANCELLED, ENDED, DIGEST = "starts", "changed", "cancelled", "ended", "digest"
KINDS = (STARTS, CHANGED, CANCELLED, ENDED, DIGEST)


@dataclass(frozen=True)
class Period:
    """A restricted period as a notice tells it."""

    key: str  # COUNCIL-ID/ELECTION-ID/WARD: the same whatever the window row's id
    council_id: int
    election_id: str
    election: str  # in plain words
    poll_date: date
    ward: str | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Person:
    councillor_id: int
    ref: str  # COUNCIL/SLUG
    name: str
    council: str  # the council's name


@dataclass(frozen=True)
class Links:
    webcal: str
    https: str


WIDTH = 72


def wrap(lines: Sequence[str]) -> str:
    """Plain-text paragraphs wrapped at 72 columns (a line with a link is never broken;
    a "- " item keeps its hanging indent)."""
    out: list[str] = []
    for line in lines:
        out += _wrapped(line)
    return "\n".join(out)


@lru_cache(maxsize=65536)
def _wrapped(line: str) -> tuple[str, ...]:
    """One line, wrapped (cached: the councillors of a council share most lines, and a
    mass election composes thousands of notices in one plan)."""
    if len(line) <= WIDTH or "://" in line:
        return (line,)
    indent = "  " if line.startswith("- ") else ""
    return tuple(textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False))


@lru_cache(maxsize=4096)
def when(value: datetime) -> str:
    """'00:00 on Thursday 2 April 2026 (BST)'."""
    local = value.astimezone(LONDON)
    return f"{local:%H:%M} on {local:%A} {local.day} {local:%B %Y} ({local.tzname()})"


def day(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def _restrictions(council: str) -> list[str]:
    return [
        "While it lasts:",
        f"- {council} will not promote you: no news items, posts, photographs or quotes "
        "about you in its publications, on its website or on its social media;",
        f"- you may not post on {council}'s social media accounts or website, even if "
        "you usually may;",
        "- you may still campaign as yourself, on your own accounts and at your own (or "
        "your party's) expense, never with the council's staff, equipment or accounts.",
        "If something must still be said through the council (an emergency, a statutory "
        "notice), ask the clerk: they can record an exemption.",
    ]


def _calendar(links: Links) -> list[str]:
    return [
        "Your restricted periods, kept up to date, as a calendar to subscribe to:",
        "- in a calendar app (Apple, Outlook, Thunderbird):",
        f"  {links.webcal}",
        "- in Outlook on the web or Google Calendar (From URL):",
        f"  {links.https}",
    ]


def councillor_notice(
    kind: str,
    person: Person,
    period: Period,
    links: Links,
    now: datetime,
    *,
    previous: tuple[datetime, datetime] | None = None,
    reason: str = "",
) -> tuple[str, str]:
    """The subject and body of one notice to a councillor."""
    span = [f"from {when(period.start)}", f"until {when(period.end)}"]
    poll = f"The poll is on {day(period.poll_date)}."
    ward = f" (the {period.ward} ward)" if period.ward else ""
    if kind == STARTS:
        started = period.start <= now
        subject = (
            f"Pre-election period in force: {period.election}"
            if started
            else f"Pre-election period starts {period.start.astimezone(LONDON):%-d %B}: "
            f"{period.election}"
        )
        opening = f"The pre-election period for the {period.election}{ward} " + (
            "is in force now:" if started else "is coming:"
        )
        lines = [opening, "", *span, "", poll, "", *_restrictions(person.council)]
    elif kind == CHANGED:
        subject = f"Pre-election period changed: {period.election}"
        lines = [
            f"The dates of the pre-election period for the {period.election}{ward} have "
            "changed. It now runs",
            "",
            *span,
            "",
        ]
        if previous is not None:
            lines += [f"(before: from {when(previous[0])} until {when(previous[1])})", ""]
        lines += [poll, "", *_restrictions(person.council)]
    elif kind == CANCELLED:
        subject = f"Pre-election period cancelled: {period.election}"
        lines = [
            f"The pre-election period for the {period.election}{ward} that you were told "
            f"of ({when(period.start)} to {when(period.end)}) no longer applies to you"
            + (f": {reason}." if reason else "."),
            "",
            "Unless another period is in force (your calendar below shows every one), the "
            "council may promote you again and you may post on its accounts as before.",
        ]
    elif kind == ENDED:
        subject = f"Pre-election period ended: {period.election}"
        lines = [
            f"The pre-election period for the {period.election}{ward} ended at {when(period.end)}.",
            "",
            "Unless another period is in force (your calendar below shows every one), the "
            "council may promote you again and you may post on its accounts as you could "
            "before.",
        ]
    else:
        raise ValueError(f"not a councillor notice: {kind}")
    body = wrap(
        [
            f"Dear {person.name},",
            "",
            *lines,
            "",
            *_calendar(links),
            "",
            f"This is an automatic notice from purdah for {person.council}; reply to "
            "the clerk with any question.",
            "",
        ]
    )
    return subject, body


@dataclass(frozen=True)
class DigestLine:
    period: Period
    state: str  # "starts", "in force", "ended"


def clerk_digest(
    council: str,
    today: date,
    lines: Sequence[DigestLine],
    told: Sequence[str],
    unaddressed: Sequence[str],
    feed: Links,
    lead_days: int,
) -> tuple[str, str]:
    """The clerk's digest for one day: the council's periods (coming within the lead time,
    in force, ended since the last digest), the notices planned to councillors since the
    last digest, and the councillors who have no address (and so are not told)."""
    subject = f"purdah digest for {council}, {day(today)}"
    out = [f"Pre-election periods for {council} on {day(today)}:", ""]
    for line in lines:
        p = line.period
        ward = f" ({p.ward} ward only)" if p.ward else ""
        if line.state == "starts":
            out.append(f"- coming: {p.election}{ward}, from {when(p.start)} to {when(p.end)}")
        elif line.state == "in force":
            out.append(f"- in force: {p.election}{ward}, until {when(p.end)}")
        else:
            out.append(f"- ended: {p.election}{ward}, at {when(p.end)}")
    if not lines:
        out.append(f"- none coming within the next {lead_days} days, in force or just ended")
    out.append("")
    if told:
        out.append(f"Notices e-mailed to councillors since the last digest ({len(told)}):")
        out += [f"- {t}" for t in told]
    else:
        out.append("No notices to councillors since the last digest.")
    if unaddressed:
        out += [
            "",
            f"Councillors with no e-mail address, who are told nothing ({len(unaddressed)}): "
            + ", ".join(unaddressed),
            "Give one with: purdah councillor edit COUNCIL/SLUG --email ADDRESS",
        ]
    out += [
        "",
        f"Councillors are e-mailed {lead_days} days before a period starts, and when it "
        "changes, is cancelled or ends.",
        "The council's calendar, to subscribe to:",
        f"  {feed.webcal}",
        f"  {feed.https}",
        "",
    ]
    return subject, wrap(out)
