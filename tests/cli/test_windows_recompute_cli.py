"""`purdah windows --recompute` and `purdah init` on a store whose windows are stale."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from purdah.cli import main
from purdah.services.windows import rules_fingerprint


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "purdah.db"
    monkeypatch.setenv("PURDAH_DB", str(path))
    assert run("init").exit_code == 0
    for args in (
        ["council", "add", "nottinghamshire", "--name", "N", "--nation", "ENG", "--kind", "county"],
        ["election", "add", "local.nottinghamshire.2029-05-03"],
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
    return path


def test_recompute_says_it_recomputed_everything(db):
    result = run("windows", "--recompute")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "windows: 0 added, 0 changed, 0 removed (every window recomputed: asked for "
        "(purdah windows --recompute)); 0 flag changes\n"
    )
    data = json.loads(run("windows", "--recompute", "--json").output)
    assert data["windows"] == {
        "added": 0,
        "changed": 0,
        "removed": 0,
        "full": "asked for (purdah windows --recompute)",
    }


def test_recompute_is_for_every_council(db):
    result = run("windows", "--recompute", "--council", "nottinghamshire")
    assert result.exit_code == 2
    assert "--recompute recomputes every council's windows: drop --council" in result.output


def test_init_recomputes_windows_computed_by_other_rules(db):
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE meta SET value = 'purdah 0.0.1' WHERE key = 'windows_computed_by'")
        raw.execute("UPDATE window SET notes = 'stale'")
    result = run("init")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2] == (
        "windows: 0 added, 1 changed, 0 removed (every window recomputed: purdah init: the "
        f"windows were computed by purdah 0.0.1, this is {rules_fingerprint()}); "
        "0 flag changes"
    )
    assert len(run("init").output.splitlines()) == 2  # in step now: nothing to say
