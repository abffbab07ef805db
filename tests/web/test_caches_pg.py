"""tests/web/test_caches.py's promises on PostgreSQL, where the caches follow the store's
change signal (migration 0013's trigger, `purdah.changes`): any commit by another
connection (raw psycopg here, as a clerk in psql would) shows on the very next request,
and a listener that is lost means no caching, never a stale answer.

Without $PURDAH_TEST_PG_URL these are skipped (bash .ci/postgres starts a server)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest

from purdah.services.elections import add_election
from purdah.services.reconcile import reconcile
from purdah.services.tokens import Scope, add_token
from purdah.store import open_store
from purdah.web.app import create_app
from tests.conftest import PG_URL
from tests.services.helpers import SETUP, nottinghamshire, set_clock
from tests.web.conftest import NOW, bearer
from tests.web.test_caches import OneLoop, check_every_answer, count_reads


@pytest.fixture
def register() -> Iterator[Any]:
    if not PG_URL:
        pytest.skip("no PostgreSQL: set PURDAH_TEST_PG_URL (bash .ci/postgres starts one)")
    from tests.conftest import _pg_store

    store = _pg_store()
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2027-05-06", nation="ENG")
    add_election(set_clock(store, SETUP), "pcc.nottinghamshire.2028-05-04")
    reconcile(set_clock(store, NOW))
    yield store
    store.close()


@pytest.fixture
def tokens(register):
    return {
        "read": add_token(register, "clerk", Scope.READ).secret,
        "check": add_token(register, "rota-tool", Scope.CHECK).secret,
    }


@pytest.fixture
def clock() -> dict[str, datetime]:
    return {"at": NOW}


@pytest.fixture
def served(register, clock) -> Iterator[OneLoop]:
    client = OneLoop(create_app(register, clock=lambda: clock["at"]))
    yield client
    client.close()


@pytest.fixture
def by_hand(register) -> Iterator[psycopg.Connection]:
    """Another connection to the store, not through purdah (as psql would be)."""
    with psycopg.connect(register._psycopg_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def reads(register, monkeypatch) -> dict[str, int]:
    """How often the store is read (`store`: any statement, a token's look-up included)
    and a token looked up (`token`)."""
    return count_reads(register, monkeypatch)


def _touched() -> None:
    """Wait for the write that records a token's last use (it empties every cache)."""
    for thread in threading.enumerate():
        if thread.name == "purdah-token-touch":
            thread.join()


def _settle(served: OneLoop, auth: dict[str, str]) -> None:
    """Requests until the token's last use is recorded and its notification counted."""
    served.get("/api/check?councillor=selston/jane-doe", auth)
    _touched()
    served.get("/api/check?councillor=selston/jane-doe", auth)


def test_the_caches_are_used(register, tokens, served, reads):
    served.get("/calendars/selston.ics")
    before = reads["store"]
    served.get("/calendars/selston.ics")
    served.get("/calendars/selston.ics", {"If-None-Match": '"x"'})
    assert reads["store"] == before  # the feed was answered from memory
    auth = bearer(tokens["check"])
    _settle(served, auth)
    token_reads, store_reads = reads["token"], reads["store"]
    for _ in range(3):
        assert served.get("/api/check?councillor=selston/jane-doe", auth).status_code == 200
    assert (reads["token"], reads["store"]) == (token_reads, store_reads)


def test_a_token_revoked_by_hand_is_refused_on_the_next_request(register, tokens, served, by_hand):
    """Many times over, each revoke followed at once by the request: a notification still
    on its way when the request arrives must not leave the revoked token in use."""
    auth = bearer(tokens["read"])
    _settle(served, auth)
    for i in range(40):
        secret = add_token(register, f"temp-{i}", Scope.READ).secret
        for _ in range(3):  # answered from memory after the first
            assert served.get("/api/check?councillor=selston/jane-doe", bearer(secret)).is_success
        _touched()
        assert served.get("/api/check?councillor=selston/jane-doe", bearer(secret)).is_success
        by_hand.execute("DELETE FROM api_token WHERE name = %s", (f"temp-{i}",))
        assert (
            served.get("/api/check?councillor=selston/jane-doe", bearer(secret)).status_code == 401
        )
    assert served.get("/api/status", bearer("purdah_" + "B" * 43)).status_code == 401
    assert served.get("/api/status", auth).status_code == 200


def test_a_feed_changes_on_the_request_after_a_change(register, served):
    first = served.get("/calendars/selston.ics")
    same = served.get("/calendars/selston.ics")
    assert same.content == first.content and same.headers["etag"] == first.headers["etag"]
    other = open_store(PG_URL)  # another process's store
    try:
        add_election(set_clock(other, NOW), "local.selston.2031-05-01", nation="ENG")
    finally:
        other.close()
    changed = served.get("/calendars/selston.ics", {"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    assert b"2031" in changed.content


def test_a_check_answer_changes_after_an_exemption_granted_elsewhere(
    register, tokens, served, clock, by_hand
):
    from purdah.decide import Action
    from purdah.services.history import exempt

    auth = bearer(tokens["check"])
    _settle(served, auth)
    clock["at"] = datetime(2027, 4, 21, 9, tzinfo=NOW.tzinfo)

    check_every_answer(served, register, auth, clock["at"])
    path = "/api/check?councillor=selston/sam-roe&at=2027-04-22T12:00"
    for _ in range(2):
        assert b'"exemption":null' in served.get(path, auth).content
    other = open_store(PG_URL)
    try:
        exempt(
            set_clock(other, clock["at"]),
            "selston/sam-roe",
            action=Action.PROMOTE,
            start=datetime(2027, 4, 21, tzinfo=NOW.tzinfo),
            end=datetime(2027, 5, 8, tzinfo=NOW.tzinfo),
            reason="the annual meeting",
            granted_by="clerk",
        )
    finally:
        other.close()
    assert b'"exemption":null' not in served.get(path, auth).content
    check_every_answer(served, register, auth, clock["at"])
    by_hand.execute("DELETE FROM exemption")  # and withdrawn by hand
    assert b'"exemption":null' in served.get(path, auth).content


def test_a_lost_listener_means_no_caching_then_caching_again(
    register, tokens, served, by_hand, reads, caplog
):
    auth = bearer(tokens["check"])
    check = "/api/check?councillor=selston/jane-doe&at=2027-04-22T12:00"
    _settle(served, auth)
    cached = served.get(check, auth).content
    counts = dict(reads)
    assert served.get(check, auth).content == cached
    assert reads == counts  # from memory
    signal = register._changes
    pid = signal._pgconn.backend_pid
    caplog.set_level(logging.WARNING, logger="purdah.store")
    by_hand.execute("SELECT pg_terminate_backend(%s)", (pid,))
    for _ in range(3):  # answered, and from the store each time
        before = dict(reads)
        assert served.get(check, auth).content == cached
        # the token's look-up and the check's statement
        assert reads["token"] == before["token"] + 1 and reads["store"] == before["store"] + 2
    lost = [r for r in caplog.records if "lost the listener" in r.getMessage()]
    assert len(lost) == 1, caplog.text  # said once, not per request
    assert register.data_version() is None
    # a change while nobody listens is seen (nothing is cached)
    by_hand.execute("DELETE FROM api_token WHERE name = 'rota-tool'")
    assert served.get(check, auth).status_code == 401
    # the retry delay passed: a new listener, in a new epoch, and caching again
    signal._retry_at = 0.0
    read = bearer(tokens["read"])
    _settle(served, read)
    assert signal._pgconn is not None and signal._pgconn.backend_pid != pid
    counts = dict(reads)
    assert served.get(check, read).content == served.get(check, read).content
    assert reads["token"] == counts["token"]
    assert any("again" in r.getMessage() for r in caplog.records)
    by_hand.execute("DELETE FROM api_token WHERE name = 'clerk'")
    assert served.get(check, read).status_code == 401


def test_a_listener_that_cannot_be_opened_means_no_caching_said_once(caplog):
    from purdah.changes import ChangeSignal

    signal = ChangeSignal("postgresql://postgres@127.0.0.1:1/nowhere", "the test's store")
    caplog.set_level(logging.WARNING, logger="purdah.store")

    async def twice() -> list[Any]:
        first = await signal.settled()
        signal._retry_at = 0.0  # tried again at once: still not there
        return [first, await signal.settled(), signal.seen()]

    assert asyncio.run(twice()) == [None, None, None]
    said = [r for r in caplog.records if "cannot listen for changes" in r.getMessage()]
    assert len(said) == 1
    signal.close()


def test_a_table_without_the_trigger_means_no_caching(
    register, tokens, served, by_hand, reads, caplog
):
    """The service checks the database it was given, not only the migrations: a table
    whose changes would not be heard turns the caches off (and says which)."""
    by_hand.execute("DROP TRIGGER purdah_changed ON exemption")
    caplog.set_level(logging.WARNING, logger="purdah.store")
    auth = bearer(tokens["check"])
    check = "/api/check?councillor=selston/jane-doe&at=2027-04-22T12:00"
    first = served.get(check, auth).content
    for _ in range(2):
        before = dict(reads)
        assert served.get(check, auth).content == first
        assert reads["token"] == before["token"] + 1  # looked up every time
    said = [r.getMessage() for r in caplog.records if "cannot listen" in r.getMessage()]
    assert len(said) == 1 and "exemption" in said[0], said
    assert register.data_version() is None


def test_data_version_counts_commits_once_listening(register, served, by_hand):
    assert register.data_version() is None  # nothing opened it yet: no caching
    served.get("/calendars/selston.ics")  # the service opens the listener
    epoch, count = register.data_version()
    by_hand.execute("UPDATE meta SET value = value")
    served.get("/calendars/selston.ics")  # its empty query: the commit has been counted
    assert register.data_version() == (epoch, count + 1)
    assert register.snapshot_cache() is None  # outside the service: still no cache
