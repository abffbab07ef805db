"""What the HTTP service remembers between requests (feeds, verified tokens) is never
stale: any commit to the store, by this process or another, shows on the next request,
and a feed changes when the clock passes the expiry of a cancelled event it shows.

The requests here are served on one event loop in one thread, as uvicorn serves them
(Starlette's TestClient gives each request a thread of its own, and with it a fresh read
connection, so nothing would be remembered there at all)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest

from purdah.services.elections import add_election, cancel_election
from purdah.services.windows import REMOVED_KEPT
from purdah.web.app import create_app
from tests.services.helpers import set_clock
from tests.web.conftest import NOW, bearer


class OneLoop:
    """An async client of the app, driven from the test on one event loop."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
        )

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx2.Response:
        return self.loop.run_until_complete(self.client.get(path, headers=headers))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture
def clock() -> dict[str, datetime]:
    return {"at": NOW}


@pytest.fixture
def served(register, clock) -> Iterator[OneLoop]:
    client = OneLoop(create_app(register, clock=lambda: clock["at"]))
    yield client
    client.close()


def count_reads(register: Any, monkeypatch: Any) -> dict[str, int]:
    """How often the store is read (`store`: any statement, a token's look-up included)
    and a token looked up (`token`), from now on."""
    import purdah.web.guard as guard

    counts = {"store": 0, "token": 0}
    real_query, real_authenticate = register.query, guard.authenticate

    def query(sql: str, params: Any) -> Any:
        counts["store"] += 1
        return real_query(sql, params)

    def authenticate(store: Any, presented: str) -> Any:
        counts["token"] += 1
        return real_authenticate(store, presented)

    monkeypatch.setattr(register, "query", query)
    monkeypatch.setattr(guard, "authenticate", authenticate)
    return counts


def test_the_caches_are_used(register, tokens, served, monkeypatch):
    reads = count_reads(register, monkeypatch)
    served.get("/calendars/selston.ics")
    before = reads["store"]
    served.get("/calendars/selston.ics")
    served.get("/calendars/selston.ics", {"If-None-Match": '"x"'})
    assert reads["store"] == before  # no read at all: the store's data version is a pragma
    served.get("/livez", bearer(tokens["check"]))  # public: the token is not even looked at
    assert reads["token"] == 0
    served.get("/api/check?councillor=selston/jane-doe", bearer(tokens["check"]))
    for thread in threading.enumerate():  # its last use is recorded (a write) once
        if thread.name == "purdah-token-touch":
            thread.join()
    served.get("/api/check?councillor=selston/jane-doe", bearer(tokens["check"]))
    looked_up = reads["token"]
    served.get("/api/check?councillor=selston/jane-doe", bearer(tokens["check"]))
    served.get("/api/check?councillor=selston/jane-doe", bearer(tokens["check"]))
    assert reads["token"] == looked_up == 2


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(
    register, tokens, served
):
    for _ in range(3):  # answered from memory after the first
        assert served.get("/api/status", bearer(tokens["read"])).status_code == 200
    with sqlite3.connect(register.sqlite_path) as other:  # not through this store at all
        other.execute("DELETE FROM api_token WHERE name = 'clerk'")
    other.close()
    assert served.get("/api/status", bearer(tokens["read"])).status_code == 401
    # and a token that was never valid is never remembered as one
    assert served.get("/api/status", bearer("purdah_" + "B" * 43)).status_code == 401


def test_a_feed_changes_on_the_request_after_a_change(register, served):
    first = served.get("/calendars/selston.ics")
    same = served.get("/calendars/selston.ics")
    assert same.content == first.content and same.headers["etag"] == first.headers["etag"]
    add_election(set_clock(register, NOW), "local.selston.2031-05-01", nation="ENG")
    changed = served.get("/calendars/selston.ics", {"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    assert b"2031" in changed.content


def test_a_feed_changes_when_a_cancelled_event_expires(register, served, clock):
    # Cancelled before its period began: published as cancelled until it expires.
    cancel_election(set_clock(register, NOW), "pcc.nottinghamshire.2028-05-04")
    shown = served.get("/calendars/selston.ics")
    assert b"STATUS:CANCELLED" in shown.content
    assert served.get("/calendars/selston.ics").headers["etag"] == shown.headers["etag"]
    clock["at"] = NOW + REMOVED_KEPT + timedelta(days=800)  # past its expiry
    later = served.get("/calendars/selston.ics")
    assert b"STATUS:CANCELLED" not in later.content
    assert later.headers["etag"] != shown.headers["etag"]
    clock["at"] = NOW  # and back: what was made later is not used for an earlier instant
    assert served.get("/calendars/selston.ics").content == shown.content


CHECKED = ["selston/jane-doe", "selston/sam-roe", "selston/mayor", "gedling/ann-other"]
# Before, inside and after the windows of both polls, and a repeat within one interval.
INSTANTS = [
    "2027-01-04T09:00",
    "2027-03-30T12:00",
    "2027-04-20T12:00",
    "2027-04-21T08:00",
    "2027-05-06T23:59:59",
    "2028-03-27T00:00",
    "2028-04-20",
    "2029-01-01T00:00%2B00:00",  # +00:00, escaped
]


def _expected(register, ref, action, at, now):
    from purdah.clock import parse_when
    from purdah.decide import Action
    from purdah.serialize import check_json
    from purdah.services.check import check
    from purdah.web.app import _json_bytes

    instant = parse_when(at.replace("%2B", "+"), "at") if at else now
    return _json_bytes(check_json(check(register, ref, Action(action), instant, now)))


def check_every_answer(served: OneLoop, register: Any, auth: dict[str, str], now: Any) -> None:
    """Every councillor of CHECKED, both actions, every instant of INSTANTS and none, each
    asked twice (the second from what was kept): exactly the encoding of check_json."""
    for ref in CHECKED:
        for action in ("promote", "post"):
            for at in [*INSTANTS, None]:
                query = f"councillor={ref}&action={action}" + (f"&at={at}" if at else "")
                for _ in range(2):
                    got = served.get(f"/api/check?{query}", auth)
                    assert got.status_code == 200, got.text
                    assert got.headers["content-type"] == "application/json"
                    want = _expected(register, ref, action, at, now)
                    assert got.content == want, (query, got.content, want)


def test_the_check_answers_kept_are_byte_for_byte_the_json_of_check(
    register, tokens, served, clock
):
    """The route keeps each verdict's JSON (all but `at`) and encodes only `at` afresh:
    every answer is exactly what encoding check_json gives, across instants, actions,
    the clock moving past `at` (the stored flag stops being comparable) and a change."""
    from purdah.decide import Action
    from purdah.services.history import exempt

    auth = bearer(tokens["check"])
    check_every_answer(served, register, auth, clock["at"])
    clock["at"] = datetime(2027, 4, 21, 9, tzinfo=NOW.tzinfo)  # now past some `at`s
    check_every_answer(served, register, auth, clock["at"])
    exempt(
        set_clock(register, clock["at"]),
        "selston/sam-roe",
        action=Action.PROMOTE,
        start=datetime(2027, 4, 21, tzinfo=NOW.tzinfo),
        end=datetime(2027, 5, 8, tzinfo=NOW.tzinfo),
        reason="the annual meeting",
        granted_by="clerk",
    )
    assert (
        b'"exemption":null'
        not in served.get("/api/check?councillor=selston/sam-roe&at=2027-04-22T12:00", auth).content
    )
    check_every_answer(served, register, auth, clock["at"])


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"councillor=selston/jane-doe&at=2027-04-20T12:00",
        b"councillor=selston%2Fjane-doe&at=2027-04-20T12%3A00%2B01%3A00",
        b"at=2027-04-20+12:00&&councillor=a/b&councillor=c/d",
        b"action&action=&x=%ZZ&%C3%A9=caf%C3%A9&bad=%ff",
        b"=v&k==v&a%26b=c%3Dd",
    ],
)
def test_the_fast_query_reader_reads_as_starlette(raw):
    from starlette.datastructures import QueryParams

    from purdah.web.app import query_items

    assert query_items(raw) == dict(QueryParams(raw))
