"""Issue 16: oversized requests and slow clients against the real server (`purdah serve`,
uvicorn, on 127.0.0.1), bounded in count and time. Each gets a clear 4xx or is cut off,
and the service keeps answering meanwhile."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HEADER_TIMEOUT = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limits")
    db = str(tmp / "limits.db")
    purdah = str(Path(sys.executable).with_name("purdah"))
    subprocess.run([purdah, "init", "--db", db], check=True, capture_output=True)
    port = free_port()
    log = (tmp / "access.log").open("w")
    proc = subprocess.Popen(
        [
            purdah,
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--header-timeout",
            str(HEADER_TIMEOUT),
            "--rate-limit",
            "off",
        ],
        stderr=log,
        preexec_fn=_cap_memory,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data`, read until the server closes or `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):  # the server may cut us off while we send
            s.sendall(data)
        return _read_all(s, timeout)


def _read_all(s: socket.socket, timeout: float) -> bytes:
    chunks = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            break
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        if b"\r\n\r\n" in b"".join(chunks) and b"connection: close" not in b"".join(chunks):
            head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
            length = [
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ]
            if length and len(body) >= length[0]:
                break
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def alive(port: int) -> bool:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2) as r:
        return r.status == 200 and time.monotonic() - started < 2


def test_headers_over_the_limit_get_431_and_a_huge_head_400(server):
    big = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 10_000 + b"\r\n\r\n"
    answer = exchange(server, big)
    assert status_of(answer) == 431
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {
        "error": "the headers are 10010 bytes; at most 8192"
    }
    # A head that arrives in pieces is cut off by uvicorn (h11) once 16 KiB are pending.
    huge = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 400_000 + b"\r\n\r\n"
    assert status_of(exchange(server, huge)) == 400
    assert alive(server)


def test_a_long_url_gets_414_and_a_huge_one_400(server):
    long = b"GET /api/check?councillor=" + b"x" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_of(exchange(server, long)) == 414
    huge = b"GET /api/check?councillor=" + b"x" * 400_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_of(exchange(server, huge)) == 400
    assert alive(server)


def test_a_body_gets_413_and_the_connection_is_closed(server):
    head = b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
    answer = exchange(server, head + b"x" * 100_000)
    assert status_of(answer) == 413 and b"connection: close" in answer.lower()
    chunked = (
        b"GET /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"4000\r\n"
        + b"x" * 0x4000
        + b"\r\n"
    )
    assert status_of(exchange(server, chunked)) == 413
    assert alive(server)


def test_a_slow_client_is_cut_off_with_408_while_others_are_answered(server):
    silent = socket.create_connection(("127.0.0.1", server), timeout=5)
    trickle = socket.create_connection(("127.0.0.1", server), timeout=5)
    started = time.monotonic()
    request = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"v" * 100
    cut_at = None
    for i, byte in enumerate(request):
        try:
            trickle.send(bytes([byte]))
        except OSError:
            cut_at = time.monotonic() - started
            break
        if i == 5:
            assert alive(server)  # others are answered while the slow ones trickle
        time.sleep(0.05)
        if time.monotonic() - started > HEADER_TIMEOUT + 3:
            break
    answer = _read_all(trickle, 3)
    assert status_of(answer) == 408, answer
    assert b"did not arrive within 1 s" in answer
    assert cut_at is None or cut_at < HEADER_TIMEOUT + 2
    assert status_of(_read_all(silent, 3)) == 408
    assert time.monotonic() - started < HEADER_TIMEOUT + 5
    silent.close()
    trickle.close()
    assert alive(server)


def test_many_slow_clients_do_not_stop_the_service(server):
    sockets = [socket.create_connection(("127.0.0.1", server), timeout=5) for _ in range(100)]
    try:
        for s in sockets:
            s.send(b"GET /livez HTTP/1.1\r\n")
        assert all(alive(server) for _ in range(5))
        time.sleep(HEADER_TIMEOUT + 0.5)
        cut = sum(1 for s in sockets if status_of(_read_all(s, 2) or b"x 0 ") == 408)
        assert cut == len(sockets)
    finally:
        for s in sockets:
            s.close()
    assert alive(server)
