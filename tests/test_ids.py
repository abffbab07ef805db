"""Democracy Club election ids."""

import re
from datetime import date

import pytest

from purdah.errors import ElectionIdError
from purdah.ids import parse_election_id


@pytest.mark.parametrize(
    "text, type_, org, div, by, poll",
    [
        ("local.2024-05-02", "local", None, None, False, date(2024, 5, 2)),
        ("local.ashfield.2027-05-06", "local", "ashfield", None, False, date(2027, 5, 6)),
        (
            "local.ashfield.kirkby-cross.by.2025-06-12",
            "local",
            "ashfield",
            "kirkby-cross",
            True,
            date(2025, 6, 12),
        ),
        ("parl.2024-07-04", "parl", None, None, False, date(2024, 7, 4)),
        (
            "parl.runcorn-and-helsby.by.2025-05-01",
            "parl",
            None,
            "runcorn-and-helsby",
            True,
            date(2025, 5, 1),
        ),
        ("sp.2026-05-07", "sp", None, None, False, date(2026, 5, 7)),
        ("gla.a.2024-05-02", "gla", None, None, False, date(2024, 5, 2)),
        ("mayor.london.2024-05-02", "mayor", "london", None, False, date(2024, 5, 2)),
        ("pcc.nottinghamshire.2028-05-04", "pcc", "nottinghamshire", None, False, date(2028, 5, 4)),
        ("senedd.2026-05-07", "senedd", None, None, False, date(2026, 5, 7)),
        ("nia.2027-05-06", "nia", None, None, False, date(2027, 5, 6)),
        ("ref.ashfield.2026-03-12", "ref", "ashfield", None, False, date(2026, 3, 12)),
    ],
)
def test_valid_ids(text, type_, org, div, by, poll):
    parsed = parse_election_id(text)
    assert (
        parsed.type,
        parsed.organisation,
        parsed.division,
        parsed.by_election,
        parsed.poll_date,
    ) == (type_, org, div, by, poll)
    assert str(parsed) == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the election id is empty"),
        ("2024-05-02", "needs at least a type and a poll date"),
        ("LOCAL.2024-05-02", "has capital letters"),
        ("local..2024-05-02", "has an empty part"),
        ("local.2024-5-2", "must end with the poll date as YYYY-MM-DD, not '2024-5-2'"),
        ("local.2024-02-30", "2024-02-30 is not a real date"),
        ("foo.2024-05-02", "is not a valid Democracy Club id"),
        ("sp.x.2026-05-07", "is not a valid Democracy Club id"),
    ],
)
def test_invalid_ids_say_what_is_wrong(text, message):
    with pytest.raises(ElectionIdError, match=re.escape(message)):
        parse_election_id(text)
