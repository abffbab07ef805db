"""Registered feeds over real HTTP on 127.0.0.1: conditional GET, failures keep the last
good data, back-off. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from purdah.clock import LONDON
from purdah.errors import InputError
from purdah.services.elections import list_elections
from purdah.services.feeds import (
    FIRST_RETRY,
    add_feed,
    list_feeds,
    parse_duration,
    refresh_due,
    refresh_feed,
    remove_feed,
)
from purdah.services.importer import ImportOptions
from tests.services.helpers import nottinghamshire

NOW = datetime(2026, 11, 21, 9, tzinfo=LONDON)


def ics(*days: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    for i, day in enumerate(days):
        lines += [
            "BEGIN:VEVENT",
            f"UID:poll-{i}",
            f"DTSTART;VALUE=DATE:{day}",
            "SUMMARY:Parish council election",
            "END:VEVENT",
        ]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


class Server:
    """A tiny feed server: serves `body` with a strong ETag, or `status` when set."""

    def __init__(self) -> None:
        self.body = ics("20270506")
        self.status = 200
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(dict(self.headers))
                etag = '"' + hashlib.sha256(outer.body).hexdigest()[:16] + '"'
                if outer.status != 200:
                    self.send_error(outer.status)
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/elections.ics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def add(store, server, **kwargs):
    return add_feed(
        store,
        server.url,
        name="parish",
        options=ImportOptions(council="selston"),
        now=NOW,
        **kwargs,
    )


def test_add_fetches_once_and_imports(store, server):
    nottinghamshire(store)
    result = add(store, server)
    assert result.ok and [p.election_id for p in result.report.elections] == [
        "local.selston.2027-05-06"
    ]
    [feed] = list_feeds(store)
    assert feed.polls == 1 and feed.last_ok_at == NOW and feed.last_error is None
    assert list_elections(store)[0].source == "feed:parish"


def test_conditional_get_sends_the_etag_and_handles_304(store, server):
    nottinghamshire(store)
    add(store, server)
    later = NOW + timedelta(hours=7)
    result = refresh_feed(store, "parish", now=later)
    assert result.ok and result.not_modified
    assert server.requests[-1].get("If-None-Match", "").startswith('"')


def test_server_error_keeps_the_last_good_data_and_backs_off(store, server):
    nottinghamshire(store)
    add(store, server)
    server.status = 500
    first = refresh_feed(store, "parish", now=NOW + timedelta(hours=7))
    assert not first.ok and "answered 500" in first.error
    assert first.next_due_at == NOW + timedelta(hours=7) + FIRST_RETRY
    second = refresh_feed(store, "parish", now=NOW + timedelta(hours=8))
    assert second.next_due_at == NOW + timedelta(hours=8) + 2 * FIRST_RETRY
    [feed] = list_feeds(store)
    assert feed.failures == 2 and "answered 500" in feed.last_error
    assert [e.status for e in list_elections(store)] == ["scheduled"]
    server.status = 200
    server.body = ics("20270506", "20280504")
    third = refresh_feed(store, "parish", now=NOW + timedelta(hours=9))
    assert third.ok and list_feeds(store)[0].failures == 0
    assert len(list_elections(store)) == 2


def test_truncated_body_is_a_failed_fetch(store, server):
    nottinghamshire(store)
    add(store, server)
    server.body = ics("20270506", "20280504")[:-40]
    result = refresh_feed(store, "parish", now=NOW + timedelta(hours=7))
    assert not result.ok and "truncated" in result.error
    assert len(list_elections(store)) == 1


def test_refresh_due_only_fetches_due_feeds(store, server):
    nottinghamshire(store)
    add(store, server, every=timedelta(hours=6))
    before = len(server.requests)
    assert refresh_due(store, now=NOW + timedelta(hours=1)) == []
    assert len(server.requests) == before
    [result] = refresh_due(store, now=NOW + timedelta(hours=6))
    assert result.name == "parish"


def test_file_feed_and_remove(store, tmp_path):
    nottinghamshire(store)
    path = tmp_path / "parish.ics"
    path.write_bytes(ics("20270506"))
    result = add_feed(
        store, str(path), name=None, options=ImportOptions(council="selston"), now=NOW
    )
    assert result.name == "parish" and result.ok
    assert remove_feed(store, "parish", withdraw=False, now=NOW) == 0
    assert list_feeds(store) == [] and list_elections(store)[0].status == "scheduled"


def test_remove_with_withdraw_releases_its_polls(store, server):
    nottinghamshire(store)
    add(store, server)
    assert remove_feed(store, "parish", withdraw=True, now=NOW) == 1
    assert list_elections(store)[0].status == "withdrawn"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("1d", timedelta(days=1)),
        ("PT6H", timedelta(hours=6)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "1m", "P"])
def test_bad_durations(text):
    with pytest.raises(InputError):
        parse_duration(text)
