"""Notices through the outbox to a real SMTP server on 127.0.0.1: queued with the plan,
sent once, retried while the server is down, refusing or slow, never lost, never
duplicated (by Message-ID), and never in the way of switching flags."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.models import mail_notice_t, outbox_delivery_t, outbox_event_t, outbox_lane_t
from purdah.notify.channel import EmailChannel
from purdah.notify.service import dispatch_mail, plan_all, resume_address
from purdah.notify.settings import load_settings
from purdah.outbox.dispatch import Dispatcher
from purdah.services.elections import move_election
from purdah.services.reconcile import reconcile
from tests.notify.helpers import ELECTION, register_with_addresses
from tests.notify.smtp_server import SmtpServer
from tests.services.helpers import set_clock

LEAD = datetime(2026, 3, 23, 9, 0, tzinfo=LONDON)  # within the lead time, after 08:00
LATER = timedelta(minutes=10)  # past any early retry's back-off (5 s, then 5 min)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _states(store):
    with store.read() as conn:
        return sorted(
            conn.execute(sa.select(outbox_delivery_t.c.state, outbox_delivery_t.c.attempts)).all()
        )


def _by_id(inbox):
    ids = inbox.ids()
    return {i: ids.count(i) for i in ids}


def test_notices_are_queued_in_the_outbox_with_the_plan_and_not_sent_to_webhooks(store, smtp):
    from purdah.services.webhooks import add_webhook

    register_with_addresses(store, clerk=True)
    secret = "whsec_" + "A" * 40
    add_webhook(store, "http://127.0.0.1:9/hook", secret_env="HOOK", environ={"HOOK": secret})
    settings = load_settings(smtp.env())
    result = plan_all(set_clock(store, LEAD), settings)
    assert result.recorded == 3  # jane, pat, and the clerk's digest
    with store.read() as conn:
        ledger = conn.execute(sa.select(mail_notice_t.c.event_id)).scalars().all()
        events = conn.execute(
            sa.select(outbox_event_t.c.id, outbox_event_t.c.kind).where(
                outbox_event_t.c.kind.like("notice.%")
            )
        ).all()
        lanes = conn.execute(
            sa.select(outbox_lane_t.c.channel, outbox_lane_t.c.target, outbox_delivery_t.c.event_id)
            .join_from(outbox_delivery_t, outbox_lane_t)
            .where(outbox_delivery_t.c.event_id.in_([e.id for e in events]))
        ).all()
    assert sorted(ledger) == sorted(e.id for e in events)
    assert sorted(kind for _, kind in events) == ["notice.digest", "notice.starts", "notice.starts"]
    assert {channel for channel, _, _ in lanes} == {"email"}  # no webhook delivery of them
    assert sorted(target for _, target, _ in lanes) == [
        "clerk@selston.example.gov.uk",
        "jane@example.org",
        "pat@example.org",
    ]


def test_each_notice_reaches_the_server_once(store, smtp):
    register_with_addresses(store)
    settings = load_settings(smtp.env())
    plan_all(set_clock(store, LEAD), settings)
    report = dispatch_mail(store, settings, seconds=30)
    assert report.delivered == 2 and report.failed == 0
    for later in (LATER, timedelta(days=1), timedelta(days=3)):
        set_clock(store, LEAD + later)
        plan_all(store, settings)
        dispatch_mail(store, settings, seconds=30)
    assert sorted(m["To"] for m in smtp.inbox.messages) == ["jane@example.org", "pat@example.org"]
    jane = next(m for m in smtp.inbox.messages if m["To"] == "jane@example.org")
    text = jane.get_payload(decode=True).decode()
    assert "webcal://purdah.example.gov.uk/calendars/selston/jane-doe.ics" in text
    assert jane["X-Purdah-Event"].startswith("evt_")


def test_a_server_that_is_down_then_up_gets_every_notice_once(store, smtp):
    register_with_addresses(store)
    port = smtp.port
    settings = load_settings(smtp.env())
    smtp.stop()  # down: the connection is refused
    plan_all(set_clock(store, LEAD), settings)
    down = dispatch_mail(store, settings, seconds=30)
    assert down.delivered == 0 and down.failed == 2
    assert _states(store) == [("pending", 1), ("pending", 1)]  # kept, to retry
    set_clock(store, LEAD + timedelta(seconds=1))  # before the back-off: nothing is tried
    assert dispatch_mail(store, settings, seconds=30).lanes == 0
    again = SmtpServer(port).start()
    try:
        set_clock(store, LEAD + LATER)
        up = dispatch_mail(store, settings, seconds=30)
        assert up.delivered == 2
        set_clock(store, LEAD + 2 * LATER)
        assert dispatch_mail(store, settings, seconds=30).lanes == 0
        assert sorted(_by_id(again.inbox).values()) == [1, 1]
    finally:
        again.stop()
    assert _states(store) == [("delivered", 2), ("delivered", 2)]


def test_a_refusing_server_is_retried_and_a_final_refusal_dead_letters_until_resumed(store, smtp):
    register_with_addresses(store)
    settings = load_settings(smtp.env())
    smtp.inbox.refuse = "451 4.7.1 greylisted, try again later"
    plan_all(set_clock(store, LEAD), settings)
    dispatch_mail(store, settings, seconds=30)
    set_clock(store, LEAD + LATER)
    dispatch_mail(store, settings, seconds=30)
    assert _states(store) == [("pending", 2), ("pending", 2)]
    smtp.inbox.refuse = "550 5.1.1 mailbox unavailable"
    set_clock(store, LEAD + 3 * LATER)
    final = dispatch_mail(store, settings, seconds=30)
    assert final.dead == 2
    with store.read() as conn:
        paused = conn.execute(
            sa.select(outbox_lane_t.c.target, outbox_lane_t.c.paused_reason).where(
                outbox_lane_t.c.paused_at.is_not(None)
            )
        ).all()
    assert len(paused) == 2 and all("550" in reason for _, reason in paused)
    from purdah.services.doctor import diagnose

    named = [f.name for f in diagnose(store, LEAD + 3 * LATER).faults]
    assert named.count("mail_paused") == 2  # said by doctor, not left silent
    smtp.inbox.refuse = None
    assert resume_address(store, "jane@example.org") == 1
    set_clock(store, LEAD + 4 * LATER)
    assert dispatch_mail(store, settings, seconds=30).delivered == 1
    assert [m["To"] for m in smtp.inbox.messages] == ["jane@example.org"]


def test_a_slow_server_never_holds_up_switching(store, smtp):
    register_with_addresses(store)
    settings = load_settings(smtp.env(PURDAH_SMTP_TIMEOUT="5"))
    plan_all(set_clock(store, LEAD), settings)
    smtp.inbox.delay = 2.0  # each DATA answered after 2 s
    sender = threading.Thread(target=dispatch_mail, args=(store, settings), kwargs={"seconds": 30})
    sender.start()
    try:
        deadline = time.monotonic() + 5
        while smtp.inbox.attempts == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert smtp.inbox.attempts >= 1  # a send is in progress
        started = time.monotonic()
        move_election(set_clock(store, LEAD + LATER), ELECTION, date(2026, 5, 14))
        reconcile(store)
        took = time.monotonic() - started
    finally:
        sender.join(30)
    assert took < 1.5, f"a write waited {took:.2f} s behind a slow SMTP server"
    assert sorted(_by_id(smtp.inbox).values()) == [1, 1]


def test_a_send_the_dispatcher_did_not_record_is_a_duplicate_with_the_same_message_id(store, smtp):
    """At-least-once: a process killed after the server took a message but before the
    attempt was recorded sends it again; the copies share the Message-ID, so a mail
    client or receiving system keeps one."""
    register_with_addresses(store)
    settings = load_settings(smtp.env())
    plan_all(set_clock(store, LEAD), settings)
    dispatcher = Dispatcher(store, [EmailChannel(settings)])
    (lane, *_) = dispatcher.claim(limit=1)
    item = dispatcher._head(lane.id)[0]
    assert EmailChannel(settings).send(lane.target, item).delivered  # then "killed"
    set_clock(store, LEAD + timedelta(minutes=2))  # the lease (60 s) has expired
    dispatch_mail(store, settings, seconds=30)
    counts = _by_id(smtp.inbox)
    assert len(counts) == 2 and sorted(counts.values()) == [1, 2]
    assert sum(counts.values()) == 3
