"""/livez, /healthz (every fault by name, never queued behind the API) and /metrics."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from purdah.clock import LONDON
from purdah.scheduler import Runner
from purdah.services.elections import add_election
from purdah.services.reconcile import reconcile
from purdah.services.tokens import Scope, add_token
from purdah.web.app import create_app
from tests.services.helpers import SETUP, nottinghamshire, set_clock, use_clock

NOW = datetime(2027, 4, 1, 12, tzinfo=LONDON)


def signed_in(store, **options):
    """A client of the app with a read token (/healthz and /metrics are private)."""
    secret = add_token(store, f"health-{secrets.token_hex(4)}", Scope.READ).secret
    app = create_app(store, **options)
    return TestClient(app, headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def kept(sqlite_store):
    """A store that `purdah run` keeps: reconciled and with a fresh heartbeat at NOW."""
    nottinghamshire(sqlite_store)
    add_election(set_clock(sqlite_store, SETUP), "local.selston.2027-05-06", nation="ENG")
    runner = Runner(use_clock(sqlite_store, lambda: NOW), clock=sqlite_store.clock)
    runner.tick("start-up")
    runner.heartbeat()
    return sqlite_store, runner


def test_livez_reads_nothing(tmp_path):
    from purdah.store import Store

    app = create_app(Store(f"sqlite:///{tmp_path / 'none.db'}"), clock=lambda: NOW)
    response = TestClient(app).get("/livez")
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_healthz_is_ok_for_a_kept_store(kept):
    store, _ = kept
    response = signed_in(store, clock=lambda: NOW).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["faults"] == [] and body["reconcile_fresh"]
    assert body["heartbeat"]["interval_minutes"] == 15 and body["flags_differ"] == 0


def test_healthz_names_a_reconcile_dated_in_2028(kept):
    """Observation: /healthz said `reconcile_fresh: true` with the last reconcile in 2028."""
    store, _ = kept
    reconcile(
        set_clock(store, datetime(2028, 5, 1, tzinfo=LONDON))
    )  # the PCC window of 2028 in force
    response = signed_in(store, clock=lambda: NOW).get("/healthz")
    body = response.json()
    assert response.status_code == 503 and body["ok"] is False
    assert body["reconcile_fresh"] is False
    assert body["faults"][0]["name"] == "reconcile_in_future"


def test_healthz_names_a_frozen_scheduler(kept):
    """Observation: /healthz said ok with the scheduler frozen."""
    store, _ = kept
    later = NOW + timedelta(minutes=5)
    body = signed_in(store, clock=lambda: later).get("/healthz").json()
    assert [f["name"] for f in body["faults"]] == ["heartbeat_stale"]


def test_healthz_does_not_queue_behind_a_busy_api(kept):
    """Observation: under 50 connections to /api/status, /healthz took 10-13 s: it waited
    for the same thread pool. Here every thread of the API's pool is taken (as 50 slow
    /api/status would take them): /api/status waits, /healthz and /metrics answer."""
    import anyio.to_thread

    store, _ = kept
    with signed_in(store, clock=lambda: NOW) as client:
        holders = [object() for _ in range(100)]

        async def take_every_thread() -> int:
            limiter = anyio.to_thread.current_default_thread_limiter()
            for holder in holders[: int(limiter.total_tokens)]:
                await limiter.acquire_on_behalf_of(holder)
            return int(limiter.total_tokens)

        async def give_back(count: int) -> None:
            limiter = anyio.to_thread.current_default_thread_limiter()
            for holder in holders[:count]:
                limiter.release_on_behalf_of(holder)

        taken = client.portal.call(take_every_thread)
        answers: dict[str, int] = {}

        def get(path: str) -> None:
            answers[path] = client.get(path).status_code

        threads = {
            p: threading.Thread(target=get, args=(p,))
            for p in ("/api/status", "/healthz", "/metrics")
        }
        try:
            for thread in threads.values():
                thread.start()
            threads["/healthz"].join(15)
            threads["/metrics"].join(15)
            assert answers.get("/healthz") == 200 and answers.get("/metrics") == 200
            assert "/api/status" not in answers  # still queued for a thread
        finally:
            client.portal.call(give_back, taken)
            threads["/api/status"].join(15)
        assert answers["/api/status"] == 200


def test_metrics_text_format(kept):
    store, runner = kept
    text = signed_in(store, clock=lambda: NOW, scheduler=runner).get("/metrics")
    assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = text.text.splitlines()
    assert "# TYPE purdah_reconcile_duration_seconds summary" in lines
    assert "purdah_reconcile_duration_seconds_count 1" in lines
    assert "purdah_reconcile_changes_total 5" in lines  # the window in force at start-up
    assert "purdah_boundary_lateness_seconds_count 0" in lines
    assert "purdah_feed_failures_total 0" in lines
    assert f"purdah_last_reconcile_timestamp_seconds {NOW.timestamp():g}" in lines
    assert "purdah_faults 0" in lines and "purdah_up 1" in lines
    for line in lines:  # every sample is NAME[{labels}] VALUE
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            assert name.startswith("purdah_") and float(value) >= 0


def test_metrics_count_a_late_boundary(kept):
    store, runner = kept
    boundary = datetime(2027, 5, 6, 22, tzinfo=LONDON)
    runner.clock = store.clock = lambda: boundary + timedelta(seconds=3)
    runner.tick("boundary", boundary)
    lines = signed_in(store, clock=lambda: NOW, scheduler=runner).get("/metrics")
    lines = lines.text.splitlines()
    assert "purdah_boundary_lateness_seconds_count 1" in lines
    assert "purdah_last_boundary_lateness_seconds 3" in lines
    assert "purdah_reconcile_changes_total 10" in lines  # and released at its end
