"""Webhooks end to end on 127.0.0.1: endpoint rules, signing, the payload against its
schema, redirects, deadlines, remove, redeliver (both stores)."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.errors import InputError, NotFound
from purdah.models import outbox_delivery_t
from purdah.outbox.payload import schema
from purdah.outbox.webhooks import check_url, new_secret, sign
from purdah.services.elections import add_election, move_election
from purdah.services.reconcile import reconcile
from purdah.services.webhooks import (
    add_webhook,
    dispatch,
    list_deliveries,
    list_webhooks,
    redeliver,
    remove_webhook,
    resume_webhook,
    send_test,
)
from tests.outbox.loopback import Loopback, contrib_receiver
from tests.services.helpers import SETUP, nottinghamshire, set_clock

APRIL = datetime(2026, 4, 1, tzinfo=LONDON)
SECRET = "whsec_" + base64.b64encode(b"a test secret of 32 bytes, fixed").decode()
ENV = {"HOOK_SECRET": SECRET}


def switched(store, url, **options):
    """A register, a webhook to `url`, an election and the reconcile that switches."""
    nottinghamshire(store)
    hook = add_webhook(
        set_clock(store, SETUP), url, secret_env="HOOK_SECRET", environ=ENV, **options
    )
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    result = reconcile(set_clock(store, APRIL))
    assert result.changes
    return hook


def test_endpoints_must_be_https_except_on_private_addresses():
    for url in (
        "https://hooks.example.org/purdah",
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://[::1]:8000/x",
        "http://192.168.1.5/x",
    ):
        assert check_url(url) == url
    with pytest.raises(InputError, match="plain http to a public host: use https"):
        check_url("http://hooks.example.org/purdah")
    with pytest.raises(InputError, match="not an http\\(s\\) URL"):
        check_url("ftp://example.org/")
    with pytest.raises(InputError, match="credentials in it"):
        check_url("https://user:pw@example.org/")


def test_adding_checks_the_secret_is_set_and_usable_and_never_stores_it(sqlite_store):
    store = sqlite_store
    nottinghamshire(store)
    with pytest.raises(InputError, match="environment variable NOPE is not set"):
        add_webhook(store, "https://example.org/h", secret_env="NOPE", environ={})
    with pytest.raises(InputError, match="does not hold a usable secret"):
        add_webhook(store, "https://example.org/h", secret_env="BAD", environ={"BAD": "whsec_!!"})
    with pytest.raises(InputError, match="is not an environment variable name"):
        add_webhook(store, "https://example.org/h", secret_env="A-B", environ=ENV)
    with pytest.raises(InputError, match=r"unknown event kind 'flag\.flipped'"):
        add_webhook(
            store,
            "https://example.org/h",
            secret_env="HOOK_SECRET",
            environ=ENV,
            events=["flag.changed,flag.flipped"],
        )
    with pytest.raises(NotFound):
        add_webhook(
            store,
            "https://example.org/h",
            secret_env="HOOK_SECRET",
            environ=ENV,
            council="atlantis",
        )
    row = add_webhook(
        store,
        "https://example.org/h",
        secret_env="HOOK_SECRET",
        environ=ENV,
        events=["flag.changed"],
        council="selston",
    )
    assert (row.events, row.council, row.secret_env) == (
        ("flag.changed",),
        "selston",
        "HOOK_SECRET",
    )
    dump = "\n".join(store.engine.raw_connection().driver_connection.iterdump())
    assert SECRET not in dump and SECRET.removeprefix("whsec_") not in dump


def test_every_event_arrives_signed_in_order_and_matches_the_schema(store):
    with Loopback(SECRET) as receiver:
        hook = switched(store, receiver.url)
        report = dispatch(store, environ=ENV)
        assert report.delivered == len(receiver.handled) > 0
        assert receiver.rejected == []
        sequences = [e["sequence"] for e in receiver.handled]
        assert sequences == sorted(sequences)
        kinds = {e["type"] for e in receiver.handled}
        assert kinds == {"period.added", "flag.changed"}
        validator = jsonschema.Draft202012Validator(schema())
        for event in receiver.handled:
            validator.validate(event)
        flag = next(e for e in receiver.handled if e["type"] == "flag.changed")
        assert flag["data"]["councillor"]["ref"].startswith("selston/")
        assert flag["data"]["election_ids"] == ["local.ashfield.2026-05-07"]
        assert flag["data"]["effective_at"] == "2026-03-29T23:00:00Z"
        assert flag["data"]["old"] is True and flag["data"]["new"] is False
        assert list_webhooks(store)[0].delivered == report.delivered
        assert hook.id == list_webhooks(store)[0].id


def test_a_payload_that_breaks_the_schema_is_caught():
    validator = jsonschema.Draft202012Validator(schema())
    bad = {
        "type": "flag.changed",
        "version": 1,
        "id": "evt_ab_1",
        "sequence": 1,
        "timestamp": "2026-03-29T23:00:00Z",
        "data": {
            "council": None,
            "councillor": None,
            "effective_at": "2026-03-29T23:00:00Z",
            "reason": "x",
            "election_ids": [],
        },
    }
    assert list(validator.iter_errors(bad))  # a flag change names its flag and councillor


def test_the_period_moved_payload_matches_the_schema(sqlite_store):
    from datetime import date

    store = sqlite_store
    with Loopback(SECRET) as receiver:
        switched(store, receiver.url, events=["period.moved"])
        move_election(set_clock(store, APRIL), "local.ashfield.2026-05-07", date(2026, 5, 14))
        dispatch(store, environ=ENV)
        assert {e["type"] for e in receiver.handled} == {"period.moved"}
        for event in receiver.handled:
            jsonschema.validate(event, schema())
            assert event["data"]["previous"]["end"] == "2026-05-07T21:00:00Z"


def test_a_council_filter_sends_only_that_councils_events(sqlite_store):
    store = sqlite_store
    with Loopback(SECRET) as receiver:
        switched(store, receiver.url, council="ashfield")
        dispatch(store, environ=ENV)
        assert {e["data"]["council"]["slug"] for e in receiver.handled} == {"ashfield"}
        assert {e["type"] for e in receiver.handled} == {"period.added"}


def test_a_receiver_with_another_secret_rejects_and_the_delivery_is_retried(sqlite_store):
    store = sqlite_store
    other = "whsec_" + base64.b64encode(b"another secret, 32 bytes long!!!").decode()
    with Loopback(other) as receiver:
        switched(store, receiver.url)
        report = dispatch(store, environ=ENV)
        assert report.delivered == 0 and report.failed == 1
        assert receiver.rejected == ["rejected: No matching signature found"]
        (row,), _ = list_deliveries(store, failed=True)
        assert (row.state, row.attempts, row.last_status) == ("pending", 1, 401)


def test_the_contrib_receiver_rejects_wrong_secret_old_timestamp_and_changed_body():
    module = contrib_receiver()
    handled = []
    receiver = module.Receiver(SECRET, handled.append)
    body = json.dumps({"type": "webhook.test", "data": {}})
    now = datetime.now(UTC)
    good = sign(SECRET, "evt_1_1", now, body)
    assert receiver.receive(good, body.encode())[0] == 204
    assert receiver.receive(good, body.encode()) == (204, "duplicate evt_1_1: already handled")
    assert len(handled) == 1
    wrong = sign(new_secret(), "evt_1_2", now, body)
    assert receiver.receive(wrong, body.encode()) == (401, "rejected: No matching signature found")
    old = sign(SECRET, "evt_1_3", now - timedelta(minutes=6), body)
    assert receiver.receive(old, body.encode()) == (401, "rejected: Message timestamp too old")
    changed = sign(SECRET, "evt_1_4", now, body)
    assert receiver.receive(changed, body.replace("test", "tost").encode())[0] == 401
    assert receiver.receive({"webhook-id": "x"}, b"{}") == (
        401,
        "rejected: Missing required headers",
    )
    assert len(handled) == 1


class _Redirecting:
    """Answers every POST with `status` and a Location (to another host, or the same)."""

    def __init__(self, status, location) -> None:
        owner = self
        self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                owner.paths.append(self.path)
                if self.path == "/final":
                    self.send_response(204)
                else:
                    self.send_response(status)
                    self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_no_redirect_to_another_host_is_followed(sqlite_store):
    store = sqlite_store
    server = _Redirecting(307, "http://127.0.0.2:9/elsewhere")
    try:
        switched(store, server.url)
        dispatch(store, environ=ENV)
        (row,), _ = list_deliveries(store, failed=True)
        assert row.last_status == 307
        assert "redirect to http://127.0.0.2:9/elsewhere not followed" in row.last_error
        assert server.paths == ["/hook"]
    finally:
        server.close()


def test_a_307_to_the_same_origin_is_followed(sqlite_store):
    store = sqlite_store
    server = _Redirecting(307, "/final")
    try:
        switched(store, server.url)
        report = dispatch(store, environ=ENV)
        assert report.delivered > 0 and report.failed == 0
        assert server.paths[:2] == ["/hook", "/final"]
    finally:
        server.close()


def test_a_receiver_that_never_answers_costs_one_deadline_per_attempt(sqlite_store):
    store = sqlite_store
    with Loopback(SECRET, then="hang") as receiver:
        switched(store, receiver.url)
        started = time.monotonic()
        report = dispatch(store, environ=ENV, timeout=1.0)
        elapsed = time.monotonic() - started
        assert report.failed == 1 and report.delivered == 0
        assert elapsed < 3.0
        (row,), _ = list_deliveries(store, failed=True)
        assert "no complete answer within 1 s" in row.last_error or "timed out" in row.last_error


def test_a_missing_secret_in_the_sender_is_a_failed_attempt_that_says_so(sqlite_store):
    store = sqlite_store
    with Loopback(SECRET) as receiver:
        switched(store, receiver.url)
        dispatch(store, environ={})
        assert receiver.requests == 0
        (row,), _ = list_deliveries(store, failed=True)
        assert "HOOK_SECRET is not set in the sending process" in row.last_error


def test_remove_cancels_pending_and_redeliver_sends_again_with_the_same_id(store):
    with Loopback(SECRET) as receiver:
        hook = switched(store, receiver.url)
        report = dispatch(store, environ=ENV)
        first = receiver.handled[0]["id"]
        rows, total = list_deliveries(store)
        oldest = rows[-1]
        assert oldest.event == first and total == report.delivered
        redeliver(store, oldest.id)
        dispatch(store, environ=ENV)
        # The receiver saw it twice and handled it once (de-duplication by webhook-id).
        assert receiver.requests == report.delivered + 1
        assert [e["id"] for e in receiver.handled].count(first) == 1
        delivery = send_test(store, hook.id)
        _row, cancelled = remove_webhook(store, hook.id)
        assert cancelled == 1
        with store.read() as conn:
            state = conn.execute(
                sa.select(outbox_delivery_t.c.state).where(outbox_delivery_t.c.id == delivery)
            ).scalar()
        assert state == "cancelled"
        with pytest.raises(InputError, match="was cancelled when its webhook was removed"):
            redeliver(store, delivery)
        with pytest.raises(NotFound):
            resume_webhook(store, hook.id)


def test_a_dead_letter_pauses_the_endpoint_and_doctor_says_so(sqlite_store):
    from purdah.services.doctor import diagnose

    store = sqlite_store
    with Loopback(SECRET, then="500") as receiver:
        hook = switched(store, receiver.url)
        when = APRIL
        for _ in range(7):  # the whole schedule, each retry due
            set_clock(store, when)
            dispatch(store, environ=ENV)
            when += timedelta(hours=11)
        (row,) = list_webhooks(store)
        assert row.dead == 1 and row.paused_at is not None
        faults = [f for f in diagnose(store, when).faults if f.name == "webhook_paused"]
        assert len(faults) == 1
        assert faults[0].message.startswith(f"webhook {hook.id} ({receiver.url}) is paused: ")
        assert faults[0].message.endswith(f"'purdah webhook resume {hook.id}'")
        resume_webhook(set_clock(store, when), hook.id)
        assert not [f for f in diagnose(store, when).faults if f.name == "webhook_paused"]
