#!/usr/bin/env python3
"""A webhook receiver for purdah that verifies every delivery and logs it: an example to
copy, not part of purdah.

It checks the Standard Webhooks signature with the `standardwebhooks` package (the
secret from $PURDAH_WEBHOOK_SECRET, `whsec_...`), which also refuses a timestamp more
than 5 minutes off; then de-duplicates by `webhook-id` (purdah delivers at least once);
then hands the event to `handle` and answers 204. A delivery that does not verify gets
401 and is not handled; a duplicate gets 204 and is not handled again.

    PURDAH_WEBHOOK_SECRET=whsec_... python contrib/webhooks/receiver.py --port 8900

The de-duplication here is in memory (as long as the process lives). A real receiver
keeps the ids it has handled with what it did, in the same transaction (for example a
table with the id as primary key), so that a retry after its own crash is recognised.
Events arrive in order per endpoint; `sequence` in the body says the order, if a
receiver ever needs to check.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

log = logging.getLogger("purdah-receiver")
MAX_BODY = 1024 * 1024


class Receiver:
    """Verification, de-duplication and the handler, apart from any HTTP server."""

    def __init__(self, secret: str, handle: Callable[[dict[str, Any]], None]) -> None:
        self.webhook = Webhook(secret)
        self.handle = handle
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def receive(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """(HTTP status, what happened) for one delivery."""
        try:
            event = self.webhook.verify(body, dict(headers))
        except WebhookVerificationError as exc:
            return 401, f"rejected: {exc}"
        except Exception as exc:  # a malformed header or body
            return 400, f"rejected: {type(exc).__name__}: {exc}"
        key = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self.lock:  # one at a time: handled exactly once per id
            if key in self.seen:
                return 204, f"duplicate {key}: already handled"
            try:
                self.handle(event)
            except Exception as exc:  # not handled: purdah sends it again later
                log.exception("handling %s failed", key)
                return 500, f"handler failed: {type(exc).__name__}"
            self.seen.add(key)
        return 204, f"handled {key}: {event.get('type')}"


def log_event(event: dict[str, Any]) -> None:
    data = event.get("data", {})
    who = (data.get("councillor") or {}).get("ref") or (data.get("council") or {}).get("slug")
    if event.get("type") == "flag.changed":
        log.info(
            "%s %s: %s -> %s from %s (%s)",
            who,
            data.get("flag"),
            data.get("old"),
            data.get("new"),
            data.get("effective_at"),
            data.get("reason"),
        )
    else:
        log.info("%s %s: %s", event.get("type"), who, json.dumps(data, sort_keys=True))


def make_server(host: str, port: int, receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._answer(413, "too large")
                return
            body = self.rfile.read(length)
            status, message = receiver.receive(dict(self.headers.items()), body)
            log.info("%s %s", status, message)
            self._answer(status, message)

        def _answer(self, status: int, message: str) -> None:
            data = b"" if status == 204 else message.encode()
            self.send_response(status)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # logged above, with the outcome

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    secret = os.environ.get("PURDAH_WEBHOOK_SECRET")
    if not secret:
        print(
            "Error: set PURDAH_WEBHOOK_SECRET to the endpoint's secret (whsec_...)", file=sys.stderr
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = make_server(args.host, args.port, Receiver(secret, log_event))
    log.info("listening on http://%s:%d/", args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
