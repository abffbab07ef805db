"""`purdah webhook ...` through the CLI: exact lines, exit codes, JSON, against a
receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re

import pytest
from click.testing import CliRunner

from purdah.cli import main
from tests.outbox.loopback import Loopback

SECRET = "whsec_" + base64.b64encode(b"cli secret, exactly 32 bytes ok!").decode()


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner(env={"HOOK_SECRET": SECRET, **(env or {})}).invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "purdah.db"))
    assert run("init").exit_code == 0
    assert (
        run(
            "council", "add", "selston", "--name", "Selston", "--nation", "ENG", "--kind", "parish"
        ).exit_code
        == 0
    )


def test_add_refuses_a_missing_secret_and_plain_http_with_the_reason(db):
    result = run("webhook", "add", "https://example.org/h", "--secret-env", "UNSET_SECRET")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: environment variable UNSET_SECRET is not set: set it to the endpoint's secret "
        "(whsec_ followed by base64, e.g. from 'purdah webhook secret')\n"
    )
    result = run("webhook", "add", "http://example.org/h", "--secret-env", "HOOK_SECRET")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: webhook URL 'http://example.org/h' is plain http")
    assert run("webhook", "list").output == (
        "no webhooks: 'purdah webhook add URL --secret-env NAME' adds one\n"
    )


def test_secret_prints_a_usable_new_secret():
    result = run("webhook", "secret")
    assert result.exit_code == 0
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{44}\n", result.output)


def test_add_test_list_deliveries_redeliver_and_remove(db):
    with Loopback(SECRET) as receiver:
        added = run(
            "webhook",
            "add",
            receiver.url,
            "--secret-env",
            "HOOK_SECRET",
            "--council",
            "selston",
            "--events",
            "flag.changed",
        )
        assert added.exit_code == 0, added.output
        assert added.output == (
            f"added webhook 1: {receiver.url}  secret $HOOK_SECRET  flag.changed, council "
            "selston  pending 0, delivered 0, dead 0\ntry it: purdah webhook test 1\n"
        )
        tested = run("webhook", "test", "1")
        assert tested.exit_code == 0, tested.output
        assert re.fullmatch(
            r"#1 delivered webhook\.test +- +evt_[0-9a-f]+_\d+  attempts 1, last 204, "
            r"delivered .*\n",
            tested.output,
        )
        assert [e["type"] for e in receiver.handled] == ["webhook.test"]
        listed = json.loads(run("webhook", "list", "--json").output)
        assert listed[0]["delivered"] == 1 and listed[0]["events"] == ["flag.changed"]
        assert SECRET not in run("webhook", "list", "--json").output
        log = json.loads(run("webhook", "deliveries", "--json").output)
        assert [(d["id"], d["state"], d["type"]) for d in log] == [(1, "delivered", "webhook.test")]
        assert run("webhook", "deliveries", "--failed").output == "no deliveries that failed\n"
        again = run("webhook", "redeliver", "1")
        assert again.exit_code == 0
        assert (
            again.output.splitlines()[-1]
            == "dispatched: 1 delivered, 0 failed (will retry), 0 dead"
        )
        assert receiver.requests == 2 and len(receiver.handled) == 1  # de-duplicated
        dispatched = run("webhook", "dispatch", "--json")
        assert json.loads(dispatched.output) == {
            "delivered": 0,
            "failed": 0,
            "dead": 0,
            "lanes": 0,
            "errors": [],
        }
        removed = run("webhook", "remove", "1")
        assert (
            removed.output
            == f"removed webhook 1 ({receiver.url}); 0 pending deliveries cancelled\n"
        )
        gone = run("webhook", "test", "1")
        assert gone.exit_code == 2
        assert gone.stderr == "Error: no webhook 1: see 'purdah webhook list'\n"


def test_test_exits_1_when_the_receiver_refuses(db):
    with Loopback(SECRET, then="500") as receiver:
        run("webhook", "add", receiver.url, "--secret-env", "HOOK_SECRET")
        tested = run("webhook", "test", "1")
        assert tested.exit_code == 1
        assert "#1 pending" in tested.output and "attempts 1, last HTTP 500, next " in tested.output
        failed = run("webhook", "deliveries", "--failed")
        assert failed.output.startswith("#1 pending")
        dispatch = run("webhook", "dispatch")
        assert dispatch.exit_code == 0  # nothing due yet: the retry waits 5 s
        assert dispatch.output == "dispatched: 0 delivered, 0 failed (will retry), 0 dead\n"
