"""`purdah mail ...` and `purdah run` with e-mail on, against aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from purdah.cli import main
from purdah.services.councillors import edit_councillor
from purdah.services.elections import add_election
from purdah.store import migrate, open_store, real_clock
from tests.notify.helpers import register_with_addresses
from tests.notify.smtp_server import SmtpServer
from tests.services.helpers import nottinghamshire


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def db(tmp_path, monkeypatch, smtp):
    path = tmp_path / "purdah.db"
    store = open_store(str(path), create=True)
    migrate(store)
    register_with_addresses(store, clerk=True)
    store.close()
    monkeypatch.setenv("PURDAH_DB", str(path))
    for key, value in smtp.env().items():
        monkeypatch.setenv(key, value)
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_dry_run_lists_what_would_be_sent_and_sends_nothing(db, smtp):
    result = run("mail", "send", "--dry-run", "--at", "2026-03-23T09:00", "--show")
    assert result.exit_code == 0, result.output
    assert "dry run at Mon 2026-03-23 09:00 GMT: would send 3 notice(s)" in result.output
    assert "starts  selston/jane-doe  jane@example.org" in result.output
    assert "digest  selston" in result.output
    assert "not told (no e-mail address): selston/sam-roe" in result.output
    assert "webcal://purdah.example.gov.uk/calendars/selston/jane-doe.ics" in result.output
    assert smtp.inbox.messages == []
    again = run("--json", "mail", "send", "--dry-run", "--at", "2026-03-23T09:00")
    assert len(json.loads(again.output)["notices"]) == 3  # the dry run recorded nothing


def test_missing_settings_are_named_and_nothing_happens(db, monkeypatch):
    monkeypatch.delenv("PURDAH_PUBLIC_URL")
    result = run("mail", "send", "--dry-run")
    assert result.exit_code == 2
    assert "Error: PURDAH_PUBLIC_URL is not set" in result.output


def test_addresses_from_the_cli_are_checked(db):
    bad = run("councillor", "edit", "selston/sam-roe", "--email", "sam at example")
    assert bad.exit_code == 2 and "not a plain e-mail address" in bad.output
    good = run("councillor", "edit", "selston/sam-roe", "--email", "Sam@Example.ORG")
    assert good.exit_code == 0, good.output
    clerk = run("council", "edit", "gedling", "--clerk-email", "clerk@gedling.example.gov.uk")
    assert clerk.exit_code == 0 and "clerk@gedling.example.gov.uk" in clerk.output
    added = run("councillor", "add", "gedling/new-one", "--name", "New One", "--email", "n@x.org")
    assert added.exit_code == 0, added.output
    shown = run("--json", "mail", "send", "--dry-run", "--at", "2026-03-23T09:00")
    to = {n["to"] for n in json.loads(shown.output)["notices"]}
    assert "Sam@example.org" in to  # the domain is lower-cased, the local part kept


def test_mail_test_names_a_server_that_is_down(db, monkeypatch):
    monkeypatch.setenv("PURDAH_SMTP_PORT", "9")
    result = run("mail", "test", "jane@example.org")
    assert result.exit_code == 1 and "was not accepted" in result.output


def _poll_in_about(days: int) -> date:
    day = real_clock().date() + timedelta(days=days)
    return day + timedelta(days=(3 - day.weekday()) % 7)  # a Thursday


def test_purdah_run_plans_and_sends_notices_on_its_dispatcher(tmp_path, smtp):
    """With the real clock: a by-election whose period starts within the (long) lead time."""
    path = tmp_path / "run.db"
    store = open_store(str(path), create=True)
    migrate(store)
    nottinghamshire(store)
    store.clock = real_clock  # the real clock from here on
    edit_councillor(store, "selston/jane-doe", email="jane@example.org", actor="test")
    add_election(store, f"local.selston.underwood.by.{_poll_in_about(60)}", nation="ENG")
    store.close()
    env = {**os.environ, "PURDAH_DB": str(path), **smtp.env(PURDAH_NOTICE_LEAD_DAYS="90")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "purdah", "run"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 40
        while not smtp.inbox.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # room for a duplicate, were there one
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=20)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "e-mail notices on: 127.0.0.1" in err, err
    assert [m["To"] for m in smtp.inbox.messages] == ["jane@example.org"], err
    assert proc.returncode == 0


def test_purdah_run_refuses_half_configured_mail(db, monkeypatch):
    monkeypatch.delenv("PURDAH_MAIL_FROM")
    result = run("run")
    assert result.exit_code == 2
    assert "Error: PURDAH_MAIL_FROM is not set" in result.output
