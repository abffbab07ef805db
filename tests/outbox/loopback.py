"""A webhook receiver on 127.0.0.1 for the tests and the soak: the contrib example's
verification and de-duplication, behind an HTTP server that misbehaves on demand.

`plan` is consumed one request at a time (then `then` for every later request):
  "ok"            verify, handle, 204
  "500"           answer 500 without looking
  "slow:S"        wait S seconds, then as "ok" (handled even if the sender gave up)
  "hang"          never answer (until the server closes)
  "reset"         close the connection without an answer
Everything it handled is in `handled` (the events, in order of handling), with the
instant of receipt in `received_at` (time.time()).
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONTRIB = Path(__file__).parents[2] / "contrib" / "webhooks" / "receiver.py"


def contrib_receiver() -> Any:
    spec = importlib.util.spec_from_file_location("purdah_contrib_receiver", CONTRIB)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Loopback:
    def __init__(self, secret: str, plan: list[str] | None = None, then: str = "ok") -> None:
        module = contrib_receiver()
        self.handled: list[dict[str, Any]] = []
        self.received_at: dict[str, float] = {}
        self.requests = 0
        self.rejected: list[str] = []
        self.plan = list(plan or [])
        self.then = then
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self.receiver = module.Receiver(secret, self._handle)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner._lock:
                    owner.requests += 1
                    step = owner.plan.pop(0) if owner.plan else owner.then
                if step == "500":
                    return self._answer(500)
                if step == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                if step == "hang":
                    owner.closing.wait(60)
                    self.close_connection = True
                    return None
                if step.startswith("slow:"):
                    owner.closing.wait(float(step.split(":", 1)[1]))
                status, message = owner.receiver.receive(dict(self.headers.items()), body)
                if status >= 400:
                    owner.rejected.append(message)
                return self._answer(status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handle(self, event: dict[str, Any]) -> None:
        self.received_at[event["id"]] = time.time()
        self.handled.append(event)

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
