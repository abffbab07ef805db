"""Running the HTTP service with uvicorn: alone (`purdah serve`) or in a background thread
beside the scheduler (`purdah run --serve`)."""

from __future__ import annotations

import threading
from typing import Any

from purdah.store import Store


def _server(store: Store, host: str, port: int, scheduler: Any = None) -> Any:
    import uvicorn

    from purdah.web.app import create_app

    app = create_app(store, scheduler=scheduler)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    return uvicorn.Server(config)


def serve(store: Store, host: str, port: int) -> None:
    """In the foreground; Ctrl-C or SIGTERM stops it."""
    _server(store, host, port).run()


def start_in_thread(store: Store, host: str, port: int, scheduler: Any) -> tuple[Any, Any]:
    """Start the service in a background thread; returns (server, thread). Stop it with
    `server.should_exit = True` and `thread.join()`."""
    server = _server(store, host, port, scheduler)
    thread = threading.Thread(target=server.run, name="purdah-http", daemon=True)
    thread.start()
    return server, thread
