"""The HTTP service: subscribable feeds, the check/status API, health, and the clerk's page.

Read-only: nothing over HTTP changes data. The clock is read once per request (or taken
from `at`). Answers and JSON are exactly the CLI's (purdah.serialize).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from purdah import __version__
from purdah.clock import LONDON, parse_when
from purdah.decide import Action
from purdah.errors import InputError, NotFound, PurdahError
from purdah.paging import DEFAULT_PAGE, HTTP, MAX_PAGE, resume
from purdah.services.tokens import scrub
from purdah.store import Store
from purdah.web.guard import CHECK_ROUTE, LIVENESS, Guard, is_public, request_version
from purdah.web.settings import WebSettings

CACHE_SECONDS = 3600
FEED_CACHE_SIZE = 1024  # feeds kept in memory at once (FeedCache)
_AT = "ISO 8601 date or datetime; Europe/London without an offset; default now"
# What the document can say of the two strings (a date can still be impossible: 422).
_AT_PATTERN = (
    r"^\s*(\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?\s*$"
)
_REF_PATTERN = r"^\s*[^/\s][^/]*/[^/]*[^/\s]\s*$"
_FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}},
    304: {"description": "Not modified (If-None-Match / If-Modified-Since)"},
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {"error": {"type": "string", "description": "what was wrong, and what to do"}},
    "required": ["error"],
}
# A page of a list (README: "Lists"): `at`, the items, and the cursor of the next page.
STATUS_PAGE_SCHEMA: dict[str, Any] = {
    "title": "StatusPage",
    "type": "object",
    "properties": {
        "at": {"type": "string", "description": "the instant answered (ISO 8601)"},
        "councillors": {"type": "array", "items": {"type": "object"}},
        "next": {
            "type": ["string", "null"],
            "description": "pass as `cursor` for the next page; null on the last page",
        },
    },
    "required": ["at", "councillors", "next"],
}
_DESCRIPTION = (
    "UK pre-election periods: may the council promote this councillor now? Read-only: "
    "nothing over HTTP changes data. HEAD is answered wherever GET is. Every 4xx answer is "
    '`{"error": "..."}`. The .ics feeds, /livez and this document are public; every other '
    "route needs a token (`Authorization: Bearer purdah_...`, from `purdah token add`; "
    "a `check` token may call /api/check only) or the reverse proxy's authentication."
)


CHECK_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "councillor",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "pattern": _REF_PATTERN, "title": "Councillor"},
        "description": "COUNCIL/SLUG, e.g. selston/jane-doe",
    },
    {
        "name": "action",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": [a.value for a in Action], "default": "promote"},
    },
    {
        "name": "at",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "pattern": _AT_PATTERN, "title": "At"},
        "description": _AT,
    },
]


class _BadQuery(Exception):
    pass


def check_parameters(query: Any) -> tuple[str, Action, str | None]:
    """/api/check's parameters, checked as its document says (422 otherwise)."""
    problems = []
    councillor = query.get("councillor")
    if councillor is None:
        problems.append("query parameter 'councillor': Field required")
    elif not re.match(_REF_PATTERN, councillor):
        problems.append(f"query parameter 'councillor' {_PATTERN_HINTS['councillor']}")
    action = query.get("action", Action.PROMOTE.value)
    if action not in {a.value for a in Action}:
        problems.append("query parameter 'action': Input should be 'promote' or 'post'")
    at = query.get("at")
    if at is not None and not re.match(_AT_PATTERN, at):
        problems.append(f"query parameter 'at' {_PATTERN_HINTS['at']}")
    if problems:
        raise _BadQuery("; ".join(problems))
    return str(councillor), Action(action), at


def query_items(raw: bytes) -> dict[str, str]:
    """A query string's parameters, as Starlette's QueryParams reads them (latin-1 bytes,
    `&`-separated, `+` and %-escapes decoded as UTF-8, blanks kept, the last of a repeated
    name winning), without building its multi-dict: the check's hot path reads three."""
    items: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name = unquote(name.replace("+", " "), errors="replace")
            value = unquote(value.replace("+", " "), errors="replace")
        items[name] = value
    return items


def _json_bytes(value: Any) -> bytes:
    """As JSONResponse encodes (compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


_CHECK_HEAD = ("councillor", "name", "action")  # the keys before "at" in check_json


def check_body(answer: Any) -> bytes:
    """`check_json(answer)` encoded as JSONResponse would, from two parts worked out once
    per verdict and kept in its memo (the same for every instant of the interval the
    verdict covers, given whether the stored flag is comparable): only `at` is encoded
    for each answer."""
    key = ("json", answer.comparable)
    parts: tuple[bytes, bytes] | None = answer.memo.get(key)
    if parts is None:
        from purdah.serialize import check_json

        whole = check_json(answer)
        head = {k: whole[k] for k in _CHECK_HEAD}
        rest = {k: v for k, v in whole.items() if k not in head and k != "at"}
        parts = answer.memo[key] = (
            _json_bytes(head)[:-1] + b',"at":',
            b"," + _json_bytes(rest)[1:],
        )
    from purdah.serialize import iso_instant

    return b'%s"%s"%s' % (parts[0], iso_instant(answer.at).encode(), parts[1])


class _JSONBody:
    """A 200 JSON answer sent as two ASGI messages, without a Response's header building."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", b"%d" % len(self.body)),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.body})


def _now() -> datetime:
    return datetime.now(LONDON)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": scrub(message)}, status_code=status, headers=headers)


_PATTERN_HINTS = {
    "at": "is not an ISO 8601 date or datetime: write e.g. 2026-05-07 or 2026-05-07T21:59:59 "
    "(Europe/London unless an offset such as +01:00 is given)",
    "councillor": "must be written COUNCIL/SLUG, e.g. selston/jane-doe",
}


def validation_message(exc: RequestValidationError) -> str:
    """Pydantic's errors as one line naming each parameter, without echoing the input."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = f"{loc[0]} parameter {'.'.join(loc[1:])!r}" if len(loc) > 1 else ".".join(loc)
        hint = _PATTERN_HINTS.get(loc[-1]) if loc else None
        if err.get("type") == "string_pattern_mismatch" and hint:
            parts.append(f"{where} {hint}")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def create_app(
    store: Store,
    *,
    clock: Callable[[], datetime] = _now,
    scheduler: Any = None,
    settings: WebSettings | None = None,
) -> FastAPI:
    """The application over `store`. `scheduler` (a purdah.scheduler.Runner) is reported
    by /healthz when the service runs in the same process. `settings` say who may see the
    private routes (default: tokens only, rate-limited)."""
    settings = settings or WebSettings()
    app = FastAPI(
        title="purdah",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    fast: list[Callable[[Request], Awaitable[Response | None]]] = []
    app.add_middleware(FastPaths, answers=fast)  # inside the Guard (added after it)
    app.add_middleware(Guard, store=store, settings=settings)
    feeds = FeedCache(store)
    _document_errors_and_auth(app)

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(InputError)
    async def _bad_input(_request: Request, exc: InputError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(PurdahError)
    async def _failed(_request: Request, exc: PurdahError) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(_BadQuery)
    async def _bad_query(_request: Request, exc: _BadQuery) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"nothing at {request.url.path}: see /openapi.json for what is served"
        elif exc.status_code == 405:
            message = (
                f"{request.method} is not allowed on {request.url.path}: "
                "this service is read-only (GET and HEAD)"
            )
        else:
            message = str(exc.detail)
        return _error(exc.status_code, message, dict(exc.headers or {}))

    def when(at: str | None) -> tuple[datetime, datetime]:
        now = clock()
        return (parse_when(at, "at") if at else now), now

    @app.get(LIVENESS, summary="Liveness: the process answers (public; no detail)")
    async def livez() -> dict[str, bool]:
        return {"ok": True}

    @app.get(
        "/calendars/{council}.ics",
        summary="A council's restricted periods (.ics)",
        response_class=Response,
        responses=_FEED_RESPONSES,
    )
    async def council_calendar(council: str, request: Request) -> Response:
        from purdah.services.export import council_feed

        return _calendar(request, await feeds.get(request, clock(), council_feed, council))

    @app.get(
        "/calendars/{council}/{councillor}.ics",
        summary="The restricted periods of one councillor (.ics)",
        response_class=Response,
        responses=_FEED_RESPONSES,
    )
    async def councillor_calendar(council: str, councillor: str, request: Request) -> Response:
        from purdah.services.export import councillor_feed

        ref = f"{council}/{councillor}"
        return _calendar(request, await feeds.get(request, clock(), councillor_feed, ref))

    async def fast_feed(request: Request) -> Response | None:
        """A feed FeedCache holds, answered as its route would (a miss goes to the route)."""
        parts = request.scope["path"][len("/calendars/") : -len(".ics")].split("/")
        if len(parts) > 2 or not all(parts):
            return None
        found = await feeds.peek(request, clock())
        return None if found is None else _calendar(request, found)

    fast.append(fast_feed)
    if settings.public_only:
        return app

    @app.get(
        "/api/check",
        summary="May the council promote this councillor (or may they "
        "post) at a time? The JSON of `purdah check --json`.",
        openapi_extra={"parameters": CHECK_PARAMETERS},
    )
    async def api_check(request: Request) -> Response:
        return Response(await check_answer(request), media_type="application/json")

    async def check_answer(request: Request) -> bytes:
        # The hot path: its three query parameters are read here rather than through
        # FastAPI's validation, which cost about as much as the check itself; the document
        # describes them (CHECK_PARAMETERS) and errors are the same words and shape.
        from purdah.services.check import check

        councillor, action, at = check_parameters(query_items(request.scope["query_string"]))
        instant, now = when(at)
        if store.sqlite_path is not None:
            # One or two indexed reads through sqlite3 (tens of microseconds): answered on
            # the event loop, which is cheaper than the hop to a worker thread.
            return check_body(check(store, councillor, action, instant, now))
        version = await request_version(store, request.scope)
        if version is None:  # no change signal: read afresh, in a worker thread
            answer = await run_in_threadpool(check, store, councillor, action, instant, now)
            return check_body(answer)
        # PostgreSQL with its change signal: the subject kept under this request's settled
        # version is answered from on the event loop; one not kept is read in a thread.
        from purdah.services.check import answer as answer_from
        from purdah.services.check import keep_subject, kept_subject, read_subject

        cache = store.snapshot_cache(version)
        utc = instant.astimezone(UTC)
        subject = kept_subject(cache, councillor, utc)
        if subject is None:
            subject = await run_in_threadpool(read_subject, store, councillor, utc)
            keep_subject(cache, councillor, subject)
        return check_body(answer_from(subject, action, instant, now))

    async def fast_check(request: Request) -> Response | None:
        """/api/check, answered as its route would; any error goes to the route, which
        raises it again for the handlers to answer."""
        try:
            return _JSONBody(await check_answer(request))  # type: ignore[return-value]
        except Exception:
            return None

    fast.append(fast_check)

    @app.get(
        "/api/status",
        summary="Everyone's effective and stored flags at a time, a page at a time (in "
        "register order): the JSON of `purdah status --json`. `next` is the cursor of the "
        "following page (null on the last).",
        response_model=None,
        responses={200: {"content": {"application/json": {"schema": STATUS_PAGE_SCHEMA}}}},
    )
    def api_status(
        council: Annotated[str | None, Query(description="a council slug; all if absent")] = None,
        at: Annotated[str | None, Query(description=_AT, pattern=_AT_PATTERN)] = None,
        limit: Annotated[
            int, Query(ge=1, le=MAX_PAGE, description="councillors in the page")
        ] = DEFAULT_PAGE,
        cursor: Annotated[
            str | None,
            Query(description="the `next` of the previous page: continues it, at its `at`"),
        ] = None,
    ) -> Response:
        from purdah.serialize import iso_instant, list_chunks, status_lines
        from purdah.services.status import KIND, status_page

        instant, now = when(at)
        after = None
        if cursor is not None:
            found = resume(cursor, KIND, 2, at=at, council=council, names=HTTP)
            instant, council = found.at or instant, found.council
            after = (str(found.after[0]), str(found.after[1]))
        page = status_page(store, instant, council, now, limit=limit, after=after)
        # The page is bounded (MAX_PAGE) and rendered in this worker thread in one pass
        # (SQLite connections belong to their thread), decisions serialised once each.
        body = "".join(
            list_chunks(
                iso_instant(instant), "councillors", status_lines(page), lambda: {"next": page.next}
            )
        )
        return Response(body, media_type="application/json")

    @app.get(
        "/api/restricted",
        summary="Everyone who may not be promoted (or post) now, by council, with the window's "
        "end and the next change. The JSON of `purdah today --json`.",
    )
    def api_restricted(
        council: Annotated[str | None, Query(description="a council slug; all if absent")] = None,
        at: Annotated[str | None, Query(description=_AT, pattern=_AT_PATTERN)] = None,
        limit: Annotated[
            int, Query(ge=1, le=MAX_PAGE, description="councils in the page")
        ] = DEFAULT_PAGE,
        cursor: Annotated[
            str | None,
            Query(description="the `next` of the previous page: continues it, at its `at`"),
        ] = None,
    ) -> JSONResponse:
        from purdah.paging import page_today
        from purdah.serialize import today_json
        from purdah.services.today import today

        instant, _now = when(at)
        after = None
        if cursor is not None:
            found = resume(cursor, "today", 1, at=at, council=council, names=HTTP)
            instant, council, after = found.at or instant, found.council, found.after
        result, following = page_today(today(store, instant, council), limit, after, council)
        return JSONResponse(today_json(result) | {"next": following})

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
    def page(request: Request, council: str | None = None, at: str | None = None) -> HTMLResponse:
        # Errors (a bad `at`, an unknown council) are a page too: a browser asked.
        from purdah.web.page import page_response

        base = str(request.base_url).rstrip("/")
        code, html = page_response(store, clock(), base, council, at)
        return HTMLResponse(html, status_code=code)

    return app


def _document_errors_and_auth(app: FastAPI) -> None:
    """The OpenAPI document says what the Guard and the handlers do: every 4xx is the one
    error shape (never FastAPI's `{"detail": [...]}`), private routes need a token."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = spec.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = ERROR_SCHEMA
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "purdah_... token"},
            "basic": {
                "type": "http",
                "scheme": "basic",
                "description": "any user name; the token as the password (for browsers)",
            },
        }

        def error(description: str) -> dict[str, Any]:
            ref = {"$ref": "#/components/schemas/Error"}
            return {"description": description, "content": {"application/json": {"schema": ref}}}

        for path, operations in spec.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses["422"] = error("The request is not valid")
                responses["404"] = error("Not found")
                for code, text in (
                    ("413", "Request body too large (no route takes one)"),
                    ("414", "URL too long"),
                    ("431", "Headers too large"),
                    ("503", "The store cannot answer now"),
                ):
                    responses[code] = error(text)
                if not is_public(path):
                    operation["security"] = [{"bearer": []}, {"basic": []}]
                    responses["401"] = error("No valid token (WWW-Authenticate says how)")
                    responses["403"] = error("The token's scope does not allow this route")
                    responses["429"] = error("Rate limit; Retry-After says when to retry")
        health = spec.get("paths", {}).get("/healthz", {}).get("get")
        if health is not None:  # its 503 is the diagnosis with the faults named, not an Error
            health["responses"]["503"] = {
                "description": "At least one fault: the body of 200 with ok false, each named",
                "content": {
                    "application/json": {"schema": {"type": "object", "required": ["ok", "faults"]}}
                },
            }
        page = spec.get("paths", {}).get("/", {}).get("get")
        if page is not None:  # the clerk's page answers its errors as a page, not JSON
            for code, text in (("404", "No such council"), ("422", "A bad `at`")):
                page["responses"][code] = {
                    "description": f"{text}: a page with the error message",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


class FastPaths:
    """The hot reads answered without FastAPI's routing and dependency solving (about as
    costly as the rest of such a request): a feed that FeedCache holds, and /api/check.
    It sits inside the Guard, so everything the Guard does (limits, tokens, scopes, the
    rate limit, security headers, HEAD, the access log) applies unchanged; whatever it
    does not answer, errors included, goes on to the routes."""

    def __init__(
        self, app: Any, answers: list[Callable[[Request], Awaitable[Response | None]]]
    ) -> None:
        self.app = app
        self.answers = answers  # [feed, check] (check absent when public-only)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            answer = None
            if path.startswith("/calendars/") and path.endswith(".ics"):
                answer = self.answers[0]
            elif path == CHECK_ROUTE and len(self.answers) > 1:
                answer = self.answers[1]
            if answer is not None:
                response = await answer(Request(scope, receive))
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class FeedCache:
    """The feeds, answered from memory while nothing has changed: an entry is good while
    nobody has committed to the store since it was made (`Store.data_version`, checked on
    every request, so a change shows on the next one), and while the clock stays between
    the instant it was made and its `valid_until` (when a cancelled event drops out). At
    most FEED_CACHE_SIZE entries (emptied beyond). Hits are answered on the event loop.
    A miss is made on the loop on SQLite (a few indexed reads, cheaper than the hop to a
    worker thread), in a worker thread on PostgreSQL, where the version is the one
    `Store.settled_version` gives for the request; with no version (the listener lost,
    another driver) every feed is read afresh in a worker thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._feeds: dict[tuple[Any, ...], tuple[Any, dict[str, str], Any, datetime]] = {}

    def _key(self, request: Request) -> tuple[Any, ...]:
        scope = request.scope
        # What the feed's URL (written in its body) is made of, without building it.
        return (
            scope["scheme"],
            request.headers.get("host"),
            scope.get("root_path", ""),
            scope["path"],
            scope.get("query_string", b""),
        )

    async def peek(self, request: Request, now: datetime) -> tuple[Any, dict[str, str]] | None:
        """(feed, its headers) if remembered and still good, else None."""
        return self._kept(request, now, await request_version(self.store, request.scope))

    def _kept(
        self, request: Request, now: datetime, version: Any
    ) -> tuple[Any, dict[str, str]] | None:
        if version is None:
            return None
        hit = self._feeds.get(self._key(request))
        if hit is None:
            return None
        feed, headers, made_version, made_at = hit
        if (
            made_version == version
            and made_at <= now
            and (feed.valid_until is None or now < feed.valid_until)
        ):
            return feed, headers
        return None

    async def get(
        self, request: Request, now: datetime, make: Callable[..., Any], ref: str
    ) -> tuple[Any, dict[str, str]]:
        """(feed, its headers): `make(store, ref, url, now=now)` unless remembered."""
        version = await request_version(self.store, request.scope)
        if version is None:
            feed = await run_in_threadpool(lambda: make(self.store, ref, str(request.url), now=now))
            return feed, _feed_headers(feed)
        found = self._kept(request, now, version)
        if found is not None:
            return found
        key = self._key(request)
        if self.store.sqlite_path is not None:
            feed = make(self.store, ref, str(request.url), now=now)
        else:  # PostgreSQL: read in a worker thread, kept under the version settled before
            feed = await run_in_threadpool(lambda: make(self.store, ref, str(request.url), now=now))
        headers = _feed_headers(feed)
        if len(self._feeds) >= FEED_CACHE_SIZE:
            self._feeds.clear()
        self._feeds[key] = (feed, headers, version, now)
        return feed, headers


def _feed_headers(feed: Any) -> dict[str, str]:
    return {
        "ETag": feed.etag,
        "Last-Modified": format_datetime(
            feed.last_modified.astimezone(UTC).replace(microsecond=0), usegmt=True
        ),
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "Content-Disposition": f'inline; filename="{feed.filename}"',
    }


def _calendar(request: Request, found: tuple[Any, dict[str, str]]) -> Response:
    feed, headers = found
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
