"""Running the HTTP service with uvicorn: alone (`purdah serve`) or in a background thread
beside the scheduler (`purdah run --serve`).

The listening socket is bound here, before anything else starts, so an address that is
taken is a ServiceError (a clear `Error:` line and a non-zero exit) rather than a log line
from a server thread that has quietly ended while the scheduler runs on without it.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable
from typing import Any

from purdah.errors import ServiceError
from purdah.store import Store
from purdah.web.settings import WebSettings

START_TIMEOUT = 15.0  # seconds for the server thread to say it is serving
API_THREADS = 4  # synchronous routes served at once (see _FewThreads)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or ServiceError saying why it cannot be."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ServiceError(f"cannot listen on {where}: {exc.strerror} (check --host)") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServiceError(
                f"cannot listen on {where}: the address is already in use "
                "(another process holds the port: stop it, or choose another --port)"
            ) from None
        raise ServiceError(f"cannot listen on {where}: {exc.strerror}") from None
    return sock


class _FewThreads:
    """Caps how many requests to synchronous routes run at once (anyio's default is 40).

    Forty threads building multi-megabyte JSON answers at once starve the event loop of
    the GIL, and with it every other answer (/livez took 6 s behind 50 /api/status on 2
    cores). A few threads finish the same work as soon and leave the loop free; /livez,
    /healthz and /metrics are async and read on their own executor, so they never wait
    for these threads."""

    def __init__(self, app: Any, threads: int) -> None:
        self.app = app
        self.threads = threads
        self.limited = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.limited:  # the limiter belongs to the server's event loop
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
            self.limited = True
        await self.app(scope, receive, send)


def _server(store: Store, scheduler: Any = None, settings: WebSettings | None = None) -> Any:
    import uvicorn

    from purdah.web.app import create_app
    from purdah.web.protocol import uvicorn_options

    settings = settings or WebSettings()
    app = _FewThreads(create_app(store, scheduler=scheduler, settings=settings), API_THREADS)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # purdah's own JSON access log (purdah.web.settings) instead
        **uvicorn_options(settings.header_timeout),
    )
    return uvicorn.Server(config)


def serve(
    store: Store,
    host: str,
    port: int,
    settings: WebSettings | None = None,
    announce: Callable[[], None] | None = None,
) -> None:
    """In the foreground; Ctrl-C or SIGTERM stops it. `announce` is called once the port
    is bound (so a URL is never printed for a port that is taken)."""
    sock = listen(host, port)
    if announce is not None:
        announce()
    _server(store, settings=settings).run(sockets=[sock])


def start_in_thread(
    store: Store, host: str, port: int, scheduler: Any, settings: WebSettings | None = None
) -> tuple[Any, Any]:
    """Bind, start the service in a background thread and wait until it serves; returns
    (server, thread). Stop it with `server.should_exit = True` and `thread.join()`."""
    sock = listen(host, port)
    server = _server(store, scheduler, settings)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="purdah-http", daemon=True
    )
    thread.start()
    waited = 0.0
    while not server.started:
        if not thread.is_alive() or waited >= START_TIMEOUT:
            server.should_exit = True
            sock.close()
            raise ServiceError(f"the HTTP service on {host}:{port} did not start (see the log)")
        thread.join(0.05)
        waited += 0.05
    return server, thread
