"""The HTTP service: subscribable feeds, the check/status API, health, and the clerk's page.

Read-only: nothing over HTTP changes data. The clock is read once per request (or taken
from `at`). Answers and JSON are exactly the CLI's (purdah.serialize).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from purdah import __version__
from purdah.clock import LONDON, parse_when
from purdah.decide import Action
from purdah.errors import InputError, NotFound, PurdahError
from purdah.store import Store

CACHE_SECONDS = 3600
_AT = "ISO 8601 date or datetime; Europe/London without an offset; default now"


def _now() -> datetime:
    return datetime.now(LONDON)


def create_app(
    store: Store,
    *,
    clock: Callable[[], datetime] = _now,
    scheduler: Any = None,
) -> FastAPI:
    """The application over `store`. `scheduler` (a purdah.scheduler.Runner) is reported
    by /healthz when the service runs in the same process."""
    app = FastAPI(
        title="purdah",
        version=__version__,
        description="UK pre-election periods: may the council promote this councillor now? "
        "Read-only.",
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )

    @app.exception_handler(NotFound)
    def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(InputError)
    def _bad_input(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(PurdahError)
    def _failed(_request: Request, exc: PurdahError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=503)

    def when(at: str | None) -> tuple[datetime, datetime]:
        now = clock()
        return (parse_when(at, "at") if at else now), now

    @app.get(
        "/calendars/{council}.ics",
        summary="A council's restricted periods (.ics)",
        response_class=Response,
        responses={200: {"content": {"text/calendar": {}}}, 304: {}, 404: {}},
    )
    def council_calendar(council: str, request: Request) -> Response:
        from purdah.services.export import council_feed

        return _calendar(request, council_feed(store, council, str(request.url)))

    @app.get(
        "/calendars/{council}/{councillor}.ics",
        summary="The restricted periods of one councillor (.ics)",
        response_class=Response,
        responses={200: {"content": {"text/calendar": {}}}, 304: {}, 404: {}},
    )
    def councillor_calendar(council: str, councillor: str, request: Request) -> Response:
        from purdah.services.export import councillor_feed

        return _calendar(
            request, councillor_feed(store, f"{council}/{councillor}", str(request.url))
        )

    @app.get(
        "/api/check",
        summary="May the council promote this councillor (or may they "
        "post) at a time? The JSON of `purdah check --json`.",
    )
    def api_check(
        councillor: Annotated[str, Query(description="COUNCIL/SLUG, e.g. selston/jane-doe")],
        action: Annotated[Action, Query()] = Action.PROMOTE,
        at: Annotated[str | None, Query(description=_AT)] = None,
    ) -> JSONResponse:
        from purdah.serialize import check_json
        from purdah.services.check import check

        instant, now = when(at)
        return JSONResponse(check_json(check(store, councillor, action, instant, now)))

    @app.get(
        "/api/status",
        summary="Everyone's effective and stored flags at a time. The "
        "JSON of `purdah status --json`.",
    )
    def api_status(
        council: Annotated[str | None, Query(description="a council slug; all if absent")] = None,
        at: Annotated[str | None, Query(description=_AT)] = None,
    ) -> JSONResponse:
        from purdah.serialize import status_json
        from purdah.services.status import status

        instant, now = when(at)
        return JSONResponse([status_json(row) for row in status(store, instant, council, now)])

    @app.get("/livez", summary="The process answers (reads nothing)")
    async def livez() -> JSONResponse:
        return JSONResponse({"ok": True})

    @app.get(
        "/healthz",
        summary="Every fault by name (the JSON of `purdah doctor --json`); 503 if any",
    )
    async def healthz() -> JSONResponse:
        import asyncio

        from purdah.web.health import EXECUTOR, health

        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(EXECUTOR, health, store, clock(), scheduler)
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @app.get(
        "/metrics",
        summary="Prometheus text format: reconciles, boundary lateness, feeds, faults",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def metrics() -> Response:
        import asyncio

        from purdah.web.health import EXECUTOR, metrics_text

        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(EXECUTOR, metrics_text, store, clock(), scheduler)
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/", response_class=HTMLResponse, summary="The clerk's page")
    def page(request: Request, council: str | None = None) -> HTMLResponse:
        from purdah.web.page import render_page

        base = str(request.base_url).rstrip("/")
        return HTMLResponse(render_page(store, clock(), base, council))

    return app


def _calendar(request: Request, feed: Any) -> Response:
    headers = {
        "ETag": feed.etag,
        "Last-Modified": format_datetime(
            feed.last_modified.astimezone(UTC).replace(microsecond=0), usegmt=True
        ),
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "Content-Disposition": f'inline; filename="{feed.filename}"',
    }
    if _not_modified(request, feed):
        return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type="text/calendar; charset=utf-8", headers=headers)


def _not_modified(request: Request, feed: Any) -> bool:
    tags = request.headers.get("if-none-match")
    if tags is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        return tags.strip() == "*" or feed.etag in {t.strip() for t in tags.split(",")}
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return bool(feed.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since))
        except (TypeError, ValueError):
            return False
    return False
