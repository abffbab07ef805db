"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's head.

uvicorn cuts off an idle keep-alive connection, and refuses a request line and headers
over `h11_max_incomplete_event_size` with a 400, but waits forever for a client that
sends its head a byte at a time. Here a client has `header_timeout` seconds from
connecting (or from the first byte of its next request) to finish the request line and
headers; then it gets a 408 and the connection is closed. Requests being answered are
never cut.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD = 16384  # bytes of request line and headers together (uvicorn answers 400 beyond)


def deadline_protocol(header_timeout: float) -> type[H11Protocol]:
    """The protocol class for uvicorn.Config(http=...)."""

    class DeadlineH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a request's head arrived whole
                self._disarm()
            elif self._waiting() and self._head_timer is None:
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _waiting(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._head_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _too_slow(self) -> None:
            self._head_timer = None
            if self.transport.is_closing() or not self._waiting():
                return
            body = json.dumps(
                {"error": f"the request's head did not arrive within {header_timeout:g} s"}
            ).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            self.transport.write(body)
            self.transport.close()

    return DeadlineH11Protocol


def uvicorn_options(header_timeout: float) -> dict[str, Any]:
    """The limits purdah runs uvicorn with (splat into uvicorn.Config)."""
    return {
        "http": deadline_protocol(header_timeout),
        "h11_max_incomplete_event_size": MAX_HEAD,
        "limit_concurrency": 512,  # beyond this many connections and tasks: 503
        "timeout_keep_alive": 5,
    }
