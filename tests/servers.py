"""Hostile feed servers on 127.0.0.1 for the fetch and scheduler tests (bounded: each
stops when closed, and never sends more than it is told to)."""

from __future__ import annotations

import socket
import threading


class RawServer:
    """Accepts connections and hands each to `behave(conn)` on its own daemon thread.
    `connections` counts the requests seen; `close()` stops it."""

    def __init__(self, behave) -> None:
        self.behave = behave
        self.connections = 0
        self.seen = threading.Event()
        self.closing = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/elections.ics"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request head
                self.seen.set()
                self.behave(conn, self.closing)
            except OSError:
                pass

    def close(self) -> None:
        self.closing.set()
        self.sock.close()
        self.thread.join(timeout=5)


def trickle(seconds_per_byte: float = 1.0, size: int = 10_000, give_up: float = 40.0):
    """Headers at once, then a body of `size` bytes, one every `seconds_per_byte` (that is
    hours); the server hangs up after `give_up` seconds, so that a client without a total
    deadline fails a test instead of hanging it."""

    def behave(conn: socket.socket, closing: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
        )
        for _ in range(min(size, int(give_up / seconds_per_byte))):
            if closing.wait(seconds_per_byte):
                return
            conn.sendall(b"B")

    return behave


def hang_up(conn: socket.socket, closing: threading.Event) -> None:
    """Reads the request and closes the connection without a word."""


def endless_chunks(conn: socket.socket, closing: threading.Event) -> None:
    """A chunked body with no Content-Length that goes on and on, quickly."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"X" * 65536
    for _ in range(1000):  # 64 MiB at most
        if closing.is_set():
            return
        conn.sendall(b"10000\r\n" + chunk + b"\r\n")
