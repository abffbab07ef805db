"""`purdah feed refresh` shows a progress bar when it takes more than a second: on a
terminal only (a real pseudo-terminal here), never with --json or on a pipe, and with no
colour codes whatever NO_COLOR says. The feed's server waits 1.5 s before answering."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from purdah.services.feeds import add_feed
from purdah.services.importer import ImportOptions
from tests.services.helpers import nottinghamshire
from tests.services.test_feeds import ics

PURDAH = str(Path(sys.executable).with_name("purdah"))
SGR = re.compile(rb"\x1b\[[0-9;]*m")  # colour and bold


class SlowServer:
    def __init__(self) -> None:
        self.delay = 0.0
        self.days = ["20270506"]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(outer.delay)
                body = ics(*outer.days)
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/elections.ics"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed(sqlite_store):
    server = SlowServer()
    nottinghamshire(sqlite_store)
    add_feed(sqlite_store, server.url, name="parish", options=ImportOptions(council="selston"))
    server.delay = 1.5
    server.days = ["20270506", "20280504"]
    yield str(sqlite_store.sqlite_path)
    server.close()


def run(args: list[str], *, tty: bool, env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Run purdah with stderr on a pseudo-terminal (or a pipe); exit code and stderr."""
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update(COLUMNS="100", **(env or {}))
    if not tty:
        done = subprocess.run(
            [PURDAH, *args], capture_output=True, env=environment, timeout=60, check=False
        )
        return done.returncode, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [PURDAH, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=environment,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), seen


def test_a_slow_refresh_shows_a_bar_on_a_terminal(feed):
    code, err = run(["feed", "refresh", "parish", "--force", "--db", feed], tty=True)
    assert code == 0, err
    assert b"refreshing feeds" in err and b"100%" in err
    assert not SGR.search(err)


def test_no_color_and_the_bar_has_no_colour_either(feed):
    code, err = run(
        ["feed", "refresh", "parish", "--force", "--db", feed], tty=True, env={"NO_COLOR": "1"}
    )
    assert code == 0 and b"refreshing feeds" in err and not SGR.search(err)


def test_no_bar_with_json_or_on_a_pipe(feed):
    code, err = run(["feed", "refresh", "parish", "--force", "--json", "--db", feed], tty=True)
    assert code == 0 and b"refreshing" not in err
    code, err = run(["feed", "refresh", "--db", feed, "parish", "--force"], tty=False)
    assert code == 0 and err == b""


def test_feed_add_shows_the_bar_for_its_first_fetch(sqlite_store):
    server = SlowServer()
    server.delay = 1.5
    nottinghamshire(sqlite_store)
    db = str(sqlite_store.sqlite_path)
    try:
        args = ["feed", "add", server.url, "--name", "parish", "--council", "selston"]
        code, err = run([*args, "--db", db], tty=True)
    finally:
        server.close()
    assert code == 0, err
    assert b"fetching the feed" in err and b"100%" in err
