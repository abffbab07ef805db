"""Every list command (`status`, `history`, `election list`, `council list`, `today`)
prints one JSON shape, {"at", <the list>, "next"}, all rows unless --limit or --after is
given, and pages with the same --limit/--after: pages join up into the whole list."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from purdah.clock import LONDON
from tests.cli.test_store_cli import clock, db, run  # noqa: F401 (fixtures)

LISTS = [
    (("status", "--at", "2026-04-01T10:00"), "councillors"),
    (("history",), "changes"),
    (("election", "list"), "elections"),
    (("council", "list"), "councils"),
    (("today", "--at", "2026-04-01T10:00"), "councils"),
]


@pytest.fixture
def register(db, clock):  # noqa: F811 (the fixture imported above)
    for n in range(4):
        assert run("councillor", "add", f"selston/p{n}", "--name", f"P {n}").exit_code == 0
    for args in (
        [
            "council",
            "add",
            "kirkby",
            "--name",
            "Kirkby",
            "--nation",
            "ENG",
            "--kind",
            "parish",
            "--within",
            "ashfield",
            "--within",
            "nottinghamshire",
        ],
        ["councillor", "add", "kirkby/al", "--name", "Al"],
        ["election", "add", "local.kirkby.2027-05-06", "--nation", "ENG"],
        ["election", "add", "pcc.nottinghamshire.2028-05-04", "--nation", "ENG"],
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
    clock.now = datetime(2026, 4, 1, 10, tzinfo=LONDON)
    assert run("reconcile").exit_code == 0  # history to list
    return db


def _json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(("command", "key"), LISTS)
def test_one_shape_and_pages_that_join_up(register, command, key):
    whole = _json(*command)
    assert next(iter(whole)) == "at" and isinstance(whole[key], list) and whole["next"] is None
    assert datetime.fromisoformat(whole["at"]).tzinfo is not None
    assert len(whole[key]) >= 2, whole
    got, cursor, pages = [], None, 0
    while True:
        page = _json(*command, "--limit", "1", *(("--after", cursor) if cursor else ()))
        assert len(page[key]) == 1
        got += page[key]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert got == whole[key] and pages == len(whole[key])
    text = run(*command, "--limit", "1")
    assert text.exit_code == 0
    assert text.output.splitlines()[-1].startswith(f"more: purdah {command[0]}")


@pytest.mark.parametrize(("command", "key"), LISTS)
def test_bad_limits_and_cursors_are_refused(register, command, key):
    zero = run(*command, "--limit", "0")
    assert zero.exit_code == 2 and "give 1 or more" in zero.output
    junk = run(*command, "--after", "nonsense")
    assert junk.exit_code == 2 and "is not one purdah gave" in junk.output
    other = "council" if command[0] != "council" else "history"
    wrong = _json(*((other, "list") if other == "council" else (other,)), "--limit", "1")["next"]
    refused = run(*command, "--after", wrong)
    assert refused.exit_code == 2 and "that cursor continues" in refused.output


def test_a_status_page_keeps_its_instant_and_council(register, clock):  # noqa: F811
    first = _json("status", "--council", "selston", "--at", "2026-04-01T10:00", "--limit", "2")
    clock.now = datetime(2026, 6, 1, tzinfo=LONDON)  # later pages: still 1 April
    rest = _json("status", "--after", first["next"])
    assert rest["at"] == first["at"] == "2026-04-01T10:00:00+01:00"
    assert all(r["councillor"].startswith("selston/") for r in rest["councillors"])
    clash = run("status", "--after", first["next"], "--at", "2026-05-01")
    assert clash.exit_code == 2 and "drop --at" in clash.output
    other = run("status", "--after", first["next"], "--council", "kirkby")
    assert other.exit_code == 2 and "drop --council" in other.output


def test_history_last_keeps_its_meaning(register):
    every = _json("history")["changes"]
    assert _json("history", "--last", "1")["changes"] == every[-1:]
