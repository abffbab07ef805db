"""One SMTP attempt against a real server on 127.0.0.1: delivered, refused, slow, down."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from purdah.errors import MailSettingsError
from purdah.notify.settings import load_settings
from purdah.notify.smtp import build_message, send
from tests.notify.smtp_server import SmtpServer, free_port


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _message(settings, key="k1"):
    return build_message(
        settings,
        "jane@example.org",
        "Pre-election period starts",
        "Dear Jane,\n\nfrom 00:00 on Monday 30 March 2026 (BST) … £5\n",
        "<purdah.abc@example.gov.uk>",
        datetime(2026, 3, 23, tzinfo=UTC),
        key,
        "clerk@selston.example.gov.uk",
    )


def test_a_message_reaches_the_server_with_its_headers(smtp):
    settings = load_settings(smtp.env())
    sent = send(settings, _message(settings))
    assert sent.ok, sent.error
    (got,) = smtp.inbox.messages
    assert got["Message-ID"] == "<purdah.abc@example.gov.uk>"
    assert got["To"] == "jane@example.org"
    assert got["From"] == "purdah <elections@example.gov.uk>"
    assert got["Auto-Submitted"] == "auto-generated"
    assert got["Reply-To"] == "clerk@selston.example.gov.uk"  # "reply to the clerk"
    assert "£5" in got.get_payload(decode=True).decode("utf-8")


def test_a_temporary_refusal_is_retryable_and_a_permanent_one_final(smtp):
    settings = load_settings(smtp.env())
    smtp.inbox.refuse = "451 4.3.0 try again later"
    later = send(settings, _message(settings))
    assert not later.ok and not later.final and later.code == 451
    smtp.inbox.refuse = "550 5.1.1 no such user"
    never = send(settings, _message(settings))
    assert not never.ok and never.final and "550" in (never.error or "")
    assert smtp.inbox.messages == []


def test_a_server_that_is_down_is_a_retryable_failure():
    port = free_port()  # nothing listens
    settings = load_settings(SmtpServer(port).env())
    sent = send(settings, _message(settings))
    assert not sent.ok and not sent.final
    assert f"127.0.0.1:{port}" in (sent.error or "")


def test_a_slow_server_is_given_up_on_within_the_total_timeout(smtp):
    settings = load_settings(smtp.env(PURDAH_SMTP_TIMEOUT="1"))
    smtp.inbox.delay = 3.0
    started = time.monotonic()
    sent = send(settings, _message(settings))
    took = time.monotonic() - started
    assert not sent.ok and not sent.final
    assert took < 1.8, took


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("PURDAH_SMTP_HOST", "PURDAH_SMTP_HOST is not set"),
        ("PURDAH_MAIL_FROM", "PURDAH_MAIL_FROM is not set"),
        ("PURDAH_PUBLIC_URL", "PURDAH_PUBLIC_URL is not set"),
    ],
)
def test_a_missing_setting_is_named(drop, named):
    env = SmtpServer(25).env()
    del env[drop]
    with pytest.raises(MailSettingsError, match=named):
        load_settings(env)


def test_settings_that_would_leak_are_refused():
    env = SmtpServer(25).env(PURDAH_SMTP_HOST="smtp.example.org")
    with pytest.raises(MailSettingsError, match="sends in the clear"):
        load_settings(env)
    env = SmtpServer(25).env(PURDAH_SMTP_USER="clerk")
    with pytest.raises(MailSettingsError, match="PURDAH_SMTP_PASSWORD is not set"):
        load_settings(env)
    shown = load_settings({**env, "PURDAH_SMTP_PASSWORD": "s3cret"}).describe()
    assert "s3cret" not in repr(shown) and shown["password"] == "(set)"
