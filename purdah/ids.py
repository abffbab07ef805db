"""Democracy Club election ids: parse and validate.

Format: ``type[.subtype][.organisation][.division][.by].YYYY-MM-DD``, e.g.
``local.2024-05-02``, ``local.ashfield.kirkby-cross.by.2025-06-12``,
``parl.runcorn-and-helsby.by.2025-05-01``, ``gla.a.2024-05-02``.
The structure is checked with the `uk-election-ids` package; purdah adds the
checks that package leaves out (a real calendar date, no empty parts) and
turns its complaints into messages that say what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from purdah.choices import Nation as Nation
from purdah.errors import ElectionIdError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


NATION_NAMES = {
    Nation.ENG: "England",
    Nation.WLS: "Wales",
    Nation.SCT: "Scotland",
    Nation.NIR: "Northern Ireland",
    Nation.UK: "United Kingdom",
}


@dataclass(frozen=True)
class ElectionId:
    """A parsed, valid Democracy Club election id."""

    text: str
    type: str
    subtype: str | None
    organisation: str | None
    division: str | None
    by_election: bool
    poll_date: date

    def __str__(self) -> str:
        return self.text


def parse_election_id(text: str) -> ElectionId:
    """Parse `text` as a Democracy Club election id, or raise ElectionIdError saying why not."""
    raw = text.strip()
    hint = "e.g. local.2024-05-02 or parl.runcorn-and-helsby.by.2025-05-01"
    if not raw:
        raise ElectionIdError(f"the election id is empty: write one such as {hint}")
    if raw != raw.lower():
        raise ElectionIdError(
            f"election id {raw!r} has capital letters: Democracy Club ids are lower case "
            f"({raw.lower()!r})"
        )
    parts = raw.split(".")
    if len(parts) < 2:
        raise ElectionIdError(f"election id {raw!r} needs at least a type and a poll date, {hint}")
    if any(not part for part in parts):
        raise ElectionIdError(f"election id {raw!r} has an empty part (two dots together)")
    date_text = parts[-1]
    if not _DATE.match(date_text):
        raise ElectionIdError(
            f"election id {raw!r} must end with the poll date as YYYY-MM-DD, not {date_text!r}"
        )
    try:
        poll_date = date.fromisoformat(date_text)
    except ValueError:
        raise ElectionIdError(f"election id {raw!r}: {date_text} is not a real date") from None

    from uk_election_ids.election_ids import IdBuilder

    try:
        built = IdBuilder.from_id(raw)
    except (ValueError, TypeError) as exc:
        raise ElectionIdError(
            f"election id {raw!r} is not a valid Democracy Club id: {exc}"
        ) from None
    return ElectionId(
        text=raw,
        type=str(built.election_type),
        subtype=built.subtype,
        organisation=built.organisation,
        division=built.division,
        by_election=built.contest_type == "by",
        poll_date=poll_date,
    )
