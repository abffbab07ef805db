"""A clerk's correction to an imported poll (cancel, move, set-notice) survives the next
import of the same event instead of being reverted ("reinstated")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from purdah.cli import main

DATA = Path(__file__).parents[1] / "data"
SOURCE = str(DATA / "polling_days_untyped.ics")
POLL = "local.ashfield.2027-06-03"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "purdah.db"))
    for args in (
        ["init", "--start-policy", "notice-or-statutory"],
        ["council", "add", "ashfield", "--name", "A", "--nation", "ENG", "--kind", "district"],
        ["import", SOURCE, "--council", "ashfield", "--type", "local"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)


def polls():
    return {
        e["election_id"]: e
        for e in json.loads(run("election", "list", "--json").output)["elections"]
    }


def test_a_clerks_cancel_survives_the_next_import(db):
    assert run("election", "cancel", POLL).exit_code == 0
    again = run("import", SOURCE, "--council", "ashfield", "--type", "local")
    assert again.exit_code == 0, again.output
    assert polls()[POLL]["status"] == "cancelled"
    assert f"  kept       {POLL}  Polling day" in again.output.splitlines()
    assert any(
        line.endswith(
            f"{POLL} (p-1): the calendar still has this poll, but the clerk "
            "cancelled it: it stays cancelled"
        )
        for line in again.output.splitlines()
    ), again.output


def test_a_clerks_move_survives_the_next_import(db):
    assert run("election", "move", POLL, "2027-06-10").exit_code == 0
    again = run("import", SOURCE, "--council", "ashfield", "--type", "local")
    assert again.exit_code == 0, again.output
    moved = [e for e in polls().values() if e["original_poll_date"] == "2027-06-03"]
    assert [e["poll_date"] for e in moved] == ["2027-06-10"]
    assert any(
        "the calendar says 2027-06-03, but the clerk moved it to 2027-06-10: the clerk's "
        "date is kept" in line
        for line in again.output.splitlines()
    ), again.output


def test_a_clerks_notice_date_survives_the_next_import(db):
    assert run("election", "set-notice", POLL, "2027-04-20").exit_code == 0
    assert run("import", SOURCE, "--council", "ashfield", "--type", "local").exit_code == 0
    assert polls()[POLL]["notice"] == "2027-04-20"
