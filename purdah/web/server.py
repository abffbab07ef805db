"""Running the HTTP service with uvicorn: alone (`purdah serve`) or in a background thread
beside the scheduler (`purdah run --serve`)."""

from __future__ import annotations

import threading
from typing import Any

from purdah.store import Store
from purdah.web.settings import WebSettings


def _server(
    store: Store, host: str, port: int, scheduler: Any = None, settings: WebSettings | None = None
) -> Any:
    import uvicorn

    from purdah.web.app import create_app
    from purdah.web.protocol import uvicorn_options

    settings = settings or WebSettings()
    app = create_app(store, scheduler=scheduler, settings=settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # purdah's own JSON access log (purdah.web.settings) instead
        **uvicorn_options(settings.header_timeout),
    )
    return uvicorn.Server(config)


def serve(store: Store, host: str, port: int, settings: WebSettings | None = None) -> None:
    """In the foreground; Ctrl-C or SIGTERM stops it."""
    _server(store, host, port, settings=settings).run()


def start_in_thread(
    store: Store, host: str, port: int, scheduler: Any, settings: WebSettings | None = None
) -> tuple[Any, Any]:
    """Start the service in a background thread; returns (server, thread). Stop it with
    `server.should_exit = True` and `thread.join()`."""
    server = _server(store, host, port, scheduler, settings)
    thread = threading.Thread(target=server.run, name="purdah-http", daemon=True)
    thread.start()
    return server, thread
