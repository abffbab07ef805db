"""Each list of allowed values has one source (purdah.choices): the CLI's choices and the
services' messages are built from it."""

from __future__ import annotations

import click
import pytest

from purdah.choices import (
    COUNCIL_KINDS,
    COUNCIL_NATIONS,
    END_POLICIES,
    START_POLICIES,
    EndPolicy,
    Nation,
    StartPolicy,
)
from purdah.cli import main
from purdah.errors import InputError
from purdah.ids import Nation as IdsNation
from purdah.services.register import _council_row
from purdah.timetable import EndPolicy as TimetableEndPolicy
from purdah.timetable import StartPolicy as TimetableStartPolicy


def _choices(*path: str) -> dict[str, tuple[str, ...]]:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return {
        p.name: tuple(p.type.choices)
        for p in command.params
        if p.name and isinstance(p.type, click.Choice)
    }


def test_the_old_homes_are_the_same_classes():
    assert IdsNation is Nation
    assert TimetableStartPolicy is StartPolicy
    assert TimetableEndPolicy is EndPolicy


def test_the_cli_offers_the_lists():
    add = _choices("council", "add")
    assert add["nation"] == COUNCIL_NATIONS
    assert add["kind"] == COUNCIL_KINDS
    assert add["start_policy"] == START_POLICIES
    assert add["end_policy"] == END_POLICIES
    assert _choices("council", "edit")["start_policy"][: len(START_POLICIES)] == START_POLICIES
    assert _choices("timetable")["start_policy"] == START_POLICIES
    assert _choices("timetable")["end_policy"] == END_POLICIES


@pytest.mark.parametrize(
    ("field", "args", "message"),
    [
        ("nation", ("x", "X", "FRA", "parish"), "nation 'FRA' is not one of: ENG, WLS, SCT, NIR"),
        ("kind", ("x", "X", "ENG", "castle"), "council kind 'castle' is not one of: parish, "),
    ],
)
def test_the_messages_list_the_allowed_values(field, args, message):
    with pytest.raises(InputError) as raised:
        _council_row(*args, (), "", "close-of-poll", "council")
    assert str(raised.value).startswith(message), field
