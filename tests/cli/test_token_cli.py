"""`purdah token add|list|revoke`: the token once on the last line, never again; exact
messages and exit codes."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from purdah.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "purdah.db"))
    assert run("init").exit_code == 0


def test_add_prints_the_token_once_alone_on_the_last_line(db):
    result = run("token", "add", "rota-tool", "--scope", "check")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "added token rota-tool (scope check); it is shown only now, and only its hash is kept:"
    )
    assert re.fullmatch(r"purdah_[A-Za-z0-9_-]{43}", lines[-1])
    listed = run("token", "list")
    assert listed.exit_code == 0 and lines[-1] not in listed.output
    assert re.fullmatch(
        r"TOKEN      SCOPE  CREATED                   LAST USED\n"
        r"rota-tool  check  \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \w+  never\n",
        listed.output,
    )


def test_list_json_shows_names_scopes_and_times_never_values(db):
    secret = run("token", "add", "clerk").stdout.splitlines()[-1]
    result = run("token", "list", "--json")
    rows = json.loads(result.output)
    assert [(r["name"], r["scope"], r["last_used_at"]) for r in rows] == [("clerk", "read", None)]
    assert rows[0]["created_at"].endswith(("+00:00", "+01:00"))
    assert secret not in result.output


def test_names_are_unique(db):
    assert run("token", "add", "cms").exit_code == 0
    again = run("token", "add", "cms")
    assert again.exit_code == 2
    assert again.stderr == (
        "Error: there is already a token named 'cms': choose another name, or "
        "'purdah token revoke cms' first\n"
    )
    assert "purdah_" not in again.stdout


def test_a_bad_name_is_refused(db):
    result = run("token", "add", "Rota Tool")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: token name 'Rota Tool' is not allowed: use 1 to 64")


def test_revoke(db):
    run("token", "add", "cms")
    result = run("token", "revoke", "cms")
    assert result.exit_code == 0 and result.output == "revoked token cms (scope read)\n"
    assert run("token", "list").output == "no tokens: 'purdah token add NAME' makes one\n"
    missing = run("token", "revoke", "cms")
    assert missing.exit_code == 2
    assert missing.stderr == "Error: no token named 'cms': see 'purdah token list'\n"
    # The name may be used again once revoked.
    assert run("token", "add", "cms").exit_code == 0


def test_an_unknown_scope_is_a_usage_error(db):
    result = run("token", "add", "x", "--scope", "write")
    assert result.exit_code == 2 and "Invalid value for '--scope'" in result.output


def test_serve_checks_its_access_options_before_serving(db):
    result = run("serve", "--rate-limit", "lots")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --rate-limit 'lots' is not a rate: write e.g. 600/minute, 20/second, or off\n"
    )


def test_run_and_serve_take_the_same_access_options():
    for command in (["serve"], ["run"]):
        text = run(*command, "--help").output
        for option in ("--public-only", "--trust-proxy-auth", "--rate-limit", "--header-timeout"):
            assert option in text, (command, option)
