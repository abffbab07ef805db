"""Which calendar events are polls, and of what election (pure).

An event is a poll when it carries a Democracy Club election id (in an X- property,
the UID, URL, CATEGORIES, DESCRIPTION or SUMMARY), or when its words say it is one
("Polling day", "Parish Council Election", "by-election", "referendum" ...). Its type
and area come from the id, else from the words and the import options. An event that
says "Notice of Election" sets the actual notice date of the matching poll. Everything
else is skipped with a reason, never silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from purdah.coverage import default_area, normalise_area
from purdah.errors import PurdahError
from purdah.ical.reader import Occurrence
from purdah.ids import ElectionId, Nation, parse_election_id

_ID = re.compile(
    r"\b((?:local|parl|sp|senedd|naw|nia|gla|mayor|pcc|ref)(?:\.[a-z0-9-]+)*\.\d{4}-\d{2}-\d{2})\b"
)
_ID_PROPERTIES = ("X-DEMOCRACY-CLUB-ID", "X-ELECTION-ID", "X-PURDAH-ELECTION-ID")

_NOTICE = re.compile(r"\bnotice of (?:election|poll)\b|\bnotice of referendum\b")
# Things with "election" in the title that are not the poll itself.
_NOT_A_POLL = re.compile(
    r"\b(nominations?|deadline|register(?:ing)? to vote|registration|count(?:ing)?|"
    r"results?|declaration|postal votes?|proxy|hustings|training|briefing|canvass|"
    r"purdah|pre-election period|statement of persons nominated|sopn)\b"
)
_POLL = re.compile(
    r"\b(polling day|poll(?:ing)? date|election day|elections?|by-elections?|"
    r"by elections?|referend(?:um|a)|poll)\b"
)
_BY = re.compile(r"\bby[- ]elections?\b")

# Words that say what kind of election, most specific first.
_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bpolice and crime commissioner|\bpcc\b"), "pcc"),
    (re.compile(r"\bgreater london authority|\blondon assembly\b|\bgla\b"), "gla"),
    (re.compile(r"\bmayor of london\b"), "gla"),
    (re.compile(r"\bscottish parliament\b|\bholyrood\b"), "sp"),
    (re.compile(r"\bsenedd\b|\bwelsh parliament\b|\bnational assembly for wales\b"), "senedd"),
    (re.compile(r"\bnorthern ireland assembly\b|\bstormont\b"), "nia"),
    (
        re.compile(r"\bgeneral election\b|\bparliamentary\b|\bwestminster\b|\buk parliament\b"),
        "parl",
    ),
    (re.compile(r"\bmayor(?:al)?\b"), "mayor"),
    (re.compile(r"\breferend(?:um|a)\b"), "ref"),
    (
        re.compile(
            r"\b(parish|town|community|district|county|borough|city|unitary|"
            r"metropolitan|council|local)\b"
        ),
        "local",
    ),
)
_GROUP_NEEDS_AREA = frozenset({"local", "pcc", "mayor", "ref"})
_NATIONWIDE = {"parl": None, "sp": Nation.SCT, "senedd": Nation.WLS, "nia": Nation.NIR}


@dataclass(frozen=True)
class Options:
    """What the clerk told `purdah import` about the source."""

    council: str | None = None  # the source is this council's own calendar
    council_nation: str | None = None
    area: str | None = None
    nation: str | None = None
    type: str | None = None
    every_event: bool = False


@dataclass(frozen=True)
class Poll:
    occurrence: Occurrence
    election_id: str
    type: str
    area: str
    nation: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    occurrence: Occurrence
    election_id: str | None  # when the notice names its election
    area: str | None
    type: str | None


@dataclass(frozen=True)
class Skip:
    occurrence: Occurrence
    reason: str


Classified = Poll | Notice | Skip


def classify(event: Occurrence, options: Options) -> Classified:
    words = " ".join((event.summary, *event.categories)).lower()
    found = _find_id(event)
    if _NOTICE.search(words):
        area, kind = _area_and_type(words, options, found)
        return Notice(event, found.text if found else None, area, kind)
    if found is None and not options.every_event:
        if _NOT_A_POLL.search(words):
            return Skip(event, f"'{_NOT_A_POLL.search(words).group(0)}' is not a poll")  # type: ignore[union-attr]
        if not _POLL.search(words):
            return Skip(event, "no election id and nothing in its title says it is a poll")
    if found is not None:
        return _from_id(event, found, options)
    return _from_words(event, words, options)


def _find_id(event: Occurrence) -> ElectionId | None:
    texts = [event.extra.get(name, "") for name in _ID_PROPERTIES]
    texts += [event.uid, event.url, " ".join(event.categories), event.description, event.summary]
    for text in texts:
        for match in _ID.finditer(text.lower()):
            try:
                return parse_election_id(match.group(1))
            except PurdahError:
                continue
    return None


def _from_id(event: Occurrence, election: ElectionId, options: Options) -> Classified:
    notes = []
    text = election.text
    if election.poll_date != event.poll_date:
        # The event moved (or the id is stale): the event's date is the poll's date.
        text = text.rsplit(".", 1)[0] + "." + event.poll_date.isoformat()
        notes.append(
            f"the id says {election.poll_date} but the event is on {event.poll_date}; "
            "using the event's date"
        )
    nation = options.nation or (options.council_nation if election.type == "local" else None)
    area = options.area or default_area(election, Nation(nation) if nation else Nation.UK)
    if area is None and election.type in _GROUP_NEEDS_AREA:
        # A group id ("all local polls that day") is not one council's poll: taking it for
        # --council would restrict that council on every such day.
        return Skip(
            event,
            f"{election.text} is a group id (every {election.type} poll that "
            "day): import with --area for the area it applies to",
        )
    if area is None and options.council:
        area = options.council
    if area is None:
        return Skip(
            event, f"{election.text} does not name its area: import with --area or --council"
        )
    return Poll(event, text, election.type, area, nation, tuple(notes))


def _area_and_type(
    words: str, options: Options, found: ElectionId | None
) -> tuple[str | None, str | None]:
    if found is not None:
        return options.area or found.organisation, found.type
    kind = options.type or next((k for pattern, k in _TYPES if pattern.search(words)), None)
    return options.area or options.council, kind


def _from_words(event: Occurrence, words: str, options: Options) -> Classified:
    kind = options.type or next((k for pattern, k in _TYPES if pattern.search(words)), None)
    if kind is None:
        if options.council:
            kind = "local"  # a council's own calendar: its own polls
        else:
            return Skip(event, "cannot tell what kind of election: import with --type")
    by = bool(_BY.search(words))
    nation = options.nation
    notes: list[str] = []
    if kind in _NATIONWIDE:
        fixed = _NATIONWIDE[kind]
        area = "uk" if kind == "parl" else (fixed.value.lower() if fixed else None)
        nation = fixed.value if fixed else None
        if kind == "parl" and by:
            if not options.area:
                return Skip(
                    event, "a parliamentary by-election needs its constituency: import with --area"
                )
            area = normalise_area(options.area)
            nation = options.nation or options.council_nation
    else:
        area = options.area or options.council
        if kind == "local":
            nation = options.nation or options.council_nation
        if area is None:
            return Skip(event, f"a {kind} poll with no area: import with --area or --council")
        if kind != "local" and not options.area:
            notes.append(
                f"a {kind} poll in {options.council}'s calendar is recorded for {options.council} "
                "only; import with --area (e.g. the police area) to cover its other councils"
            )
    day = event.poll_date.isoformat()
    if kind == "parl":
        election_id = f"parl.{area}.by.{day}" if by else f"parl.{day}"
    elif kind in ("sp", "senedd", "nia"):
        election_id = f"{kind}.{day}"
    elif kind == "gla":
        election_id = f"gla.{day}"
    else:
        election_id = f"{kind}.{area}.{day}"
    return Poll(event, election_id, kind, str(area), nation, tuple(notes))
