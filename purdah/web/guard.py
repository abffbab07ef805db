"""Who may see what over HTTP, and the limits every request meets: one ASGI middleware.

- Public routes: the .ics feeds, the bare liveness check, the OpenAPI document. Every
  other route is private (a route added later is private unless listed here): it needs
  a token (`Authorization: Bearer purdah_...`, or HTTP Basic with the token as the
  password, so that a browser can sign in), or, with `trust_proxy_auth`, a user name that
  the reverse proxy in front authenticated and sent in `X-Forwarded-User` from one of
  the trusted proxy addresses. `public_only` serves the public routes alone.
- Scopes: a `check` token may call /api/check only; a `read` token every private route.
- 401 and 403 carry `WWW-Authenticate`; every 4xx here is `{"error": "..."}`.
- A per-client rate limit (the `limits` library, in memory) on the private routes, keyed
  by the token's name (or the proxy user, or the client address before sign-in).
- HEAD is answered wherever GET is, as GET without the body.
- Limits: URL, header block and body (no route takes a body: this service never writes).
- Security headers on every response; `Cache-Control: no-store` on private ones.
- One JSON access-log line per request on the `purdah.access` logger, naming the token,
  never its value; anything shaped like a token is scrubbed from what is logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from purdah.services.tokens import (
    TOUCH_EVERY,
    Scope,
    TokenRow,
    authenticate,
    hash_token,
    scrub,
    touch_token,
)
from purdah.store import Store
from purdah.web.settings import WebSettings, access_log

Scope_ = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]

log = logging.getLogger("purdah.web")

LIVENESS = "/livez"
CHECK_ROUTE = "/api/check"
_FEED = re.compile(r"^/calendars/[^/]+(/[^/]+)?\.ics$")
PUBLIC_PATHS = frozenset({LIVENESS, "/openapi.json"})

MAX_URL = 4096  # bytes of path and query
MAX_HEADERS = 8192  # bytes of all header names and values (uvicorn cuts off at 16 KiB)
MAX_HEADER_COUNT = 64
MAX_BODY = 16384  # bytes; no route reads a body at all
PROXY_USER_HEADER = b"x-forwarded-user"
STORE_VERSION = "purdah.store_version"  # where a request keeps its settled store version
TOKEN_CACHE_SECONDS = 30.0  # a verified token is trusted this long at most without a read
TOKEN_CACHE_SIZE = 1024  # tokens remembered at once (the cache is emptied beyond)

# No script anywhere; the page's one <style> element and its bars' style attributes are
# the only inline content, so styles alone are allowed inline.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# Two headers, not one with two challenges: Chromium reads only the first of a list.
_CHALLENGES = [
    (b"www-authenticate", b'Bearer realm="purdah"'),
    (b"www-authenticate", b'Basic realm="purdah", charset="UTF-8"'),
]


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or _FEED.match(path) is not None


@dataclass
class Principal:
    kind: str  # token or proxy
    name: str
    scope: Scope
    token: TokenRow | None = None


@dataclass
class _Refusal(Exception):
    status: int
    message: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class Guard:
    """The middleware. `store` answers token look-ups; `settings` says what to enforce."""

    def __init__(self, app: ASGIApp, store: Store, settings: WebSettings) -> None:
        self.app = app
        self.store = store
        self.settings = settings
        self._touched: dict[int, float] = {}  # token id -> monotonic time of the last touch
        # token hash -> (row, store data version, monotonic expiry): see _cached_lookup
        self._tokens: dict[str, tuple[TokenRow, Any, float]] = {}
        self._limiter: Any = None
        self._limit: Any = None
        if settings.rate_limit:
            from limits import parse
            from limits.aio.storage import MemoryStorage
            from limits.aio.strategies import FixedWindowRateLimiter

            # The asyncio flavour: the threaded MemoryStorage starts a timer thread every
            # 10 ms under load, which halved /api/check's throughput in bench_http.py; a
            # fixed window (one counter per client and minute) cost nothing measurable
            # there, a sliding-window counter about a third.
            self._limit = parse(settings.rate_limit)
            self._limiter = FixedWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        head = scope["method"] == "HEAD"
        if head:
            scope = dict(scope, method="GET")
        path: str = scope["path"]
        public = is_public(path)
        state: dict[str, Any] = {"status": 0, "principal": None}

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not public and not any(k == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = dict(message, headers=headers)
            elif message["type"] == "http.response.body" and head:
                message = dict(message, body=b"")
            await send(message)

        try:
            self._limits(scope)
            if not public:
                if self.settings.public_only:
                    raise _Refusal(404, f"{path} is not served here: this instance is public-only")
                try:
                    principal = await self._authenticate(scope)
                except _Refusal as refusal:
                    if refusal.status == 401:  # failed sign-ins count against the address
                        client = (scope.get("client") or ("",))[0]
                        await self._rate(Principal("address", client, Scope.CHECK))
                    raise
                state["principal"] = principal
                await self._rate(principal)
                self._authorise(path, principal)
        except _Refusal as refusal:
            await _refuse(guarded_send, refusal)
        else:
            await self.app(scope, receive, guarded_send)
        finally:
            self._log(scope, head, state, started)
            principal = state["principal"]
            if principal is not None and principal.token is not None:
                self._touch(principal.token)

    def _limits(self, scope: Scope_) -> None:
        url = len(scope["raw_path"] if scope.get("raw_path") else scope["path"]) + len(
            scope.get("query_string", b"")
        )
        if url > MAX_URL:
            raise _Refusal(414, f"the URL is {url} bytes long; at most {MAX_URL} are accepted")
        headers = scope["headers"]
        if len(headers) > MAX_HEADER_COUNT:
            raise _Refusal(431, f"{len(headers)} headers sent; at most {MAX_HEADER_COUNT}")
        size = sum(len(k) + len(v) for k, v in headers)
        if size > MAX_HEADERS:
            raise _Refusal(431, f"the headers are {size} bytes; at most {MAX_HEADERS}")
        for key, value in headers:
            if key == b"transfer-encoding" or (
                key == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY)
            ):
                raise _Refusal(
                    413,
                    f"request bodies over {MAX_BODY} bytes are refused: "
                    "this service is read-only and no route takes a body",
                    [(b"connection", b"close")],
                )

    async def _authenticate(self, scope: Scope_) -> Principal:
        authorization = None
        proxy_user = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == PROXY_USER_HEADER:
                proxy_user = value.decode("latin-1").strip()
        if authorization is not None:
            presented = _presented_token(authorization)
            if presented is None:
                raise _Refusal(
                    401,
                    "the Authorization header is not 'Bearer <token>' (nor Basic with the "
                    "token as the password)",
                    _CHALLENGES,
                )
            try:
                row = await self._lookup(presented, scope)
            except Exception as exc:  # the store is down: say so, do not 500
                log.warning("cannot check a token: the store failed: %s", exc)
                raise _Refusal(
                    503, f"cannot check the token: the store failed ({type(exc).__name__})"
                ) from None
            if row is None:
                raise _Refusal(
                    401,
                    "the token is not valid (unknown or revoked): ask for a new one "
                    "('purdah token add')",
                    [
                        (b"www-authenticate", b'Bearer realm="purdah", error="invalid_token"'),
                        _CHALLENGES[1],
                    ],
                )
            return Principal("token", row.name, row.scope, row)
        client = (scope.get("client") or ("", 0))[0]
        if (
            self.settings.trust_proxy_auth
            and proxy_user
            and client in self.settings.trusted_proxies
        ):
            return Principal("proxy", scrub(proxy_user)[:128], Scope.READ)
        raise _Refusal(
            401,
            "this route needs a token: send 'Authorization: Bearer purdah_...' "
            "(see 'purdah token add')",
            _CHALLENGES,
        )

    async def _lookup(self, presented: str, scope: Scope_) -> TokenRow | None:
        store = self.store
        if store.sqlite_path is not None:  # one indexed read: cheaper than a thread hop
            return self._cached_lookup(presented)
        # PostgreSQL: remembered under the version settled for this request (one empty
        # query on the store's listener, none at all when it is lost), read otherwise.
        import anyio.to_thread

        version = await request_version(store, scope)
        if version is not None:
            hit = self._kept(presented, version)
            if hit is not None:
                return hit
        row = await anyio.to_thread.run_sync(authenticate, store, presented)
        if version is not None:
            self._keep(presented, row, version)
        return row

    def _cached_lookup(self, presented: str) -> TokenRow | None:
        """A verified token is remembered for at most TOKEN_CACHE_SECONDS, and only while
        nobody has committed to the store since (`Store.data_version`: a revoke, or any
        other write, is seen by the very next request). Keyed by the token's hash, so the
        cache holds no secret; unknown tokens are never remembered."""
        version = self.store.data_version()
        hit = self._kept(presented, version)
        if hit is not None:
            return hit
        row = authenticate(self.store, presented)
        self._keep(presented, row, version)
        return row

    def _kept(self, presented: str, version: Any) -> TokenRow | None:
        hit = self._tokens.get(hash_token(presented))
        if hit is not None and hit[1] == version and time.monotonic() < hit[2]:
            return hit[0]
        return None

    def _keep(self, presented: str, row: TokenRow | None, version: Any) -> None:
        key = hash_token(presented)
        if row is None:
            self._tokens.pop(key, None)
            return
        if len(self._tokens) >= TOKEN_CACHE_SIZE:
            self._tokens.clear()
        self._tokens[key] = (row, version, time.monotonic() + TOKEN_CACHE_SECONDS)

    async def _rate(self, principal: Principal) -> None:
        if self._limiter is None:
            return
        key = f"{principal.kind}:{principal.name}"
        if await self._limiter.hit(self._limit, key):
            return
        stats = await self._limiter.get_window_stats(self._limit, key)
        wait = max(1, int(stats.reset_time - time.time() + 0.999))
        raise _Refusal(
            429,
            f"rate limit: more than {self.settings.rate_limit} from {principal.kind} "
            f"{principal.name}; retry in {wait} s",
            [(b"retry-after", str(wait).encode())],
        )

    def _authorise(self, path: str, principal: Principal) -> None:
        if principal.scope is Scope.READ or path == CHECK_ROUTE:
            return
        raise _Refusal(
            403,
            f"the token {principal.name!r} has scope {principal.scope}, which allows "
            f"{CHECK_ROUTE} only; {path} needs a token of scope read",
            [
                (
                    b"www-authenticate",
                    b'Bearer realm="purdah", error="insufficient_scope", scope="read"',
                )
            ],
        )

    def _touch(self, row: TokenRow) -> None:
        """Record last use at most about once a minute per token, off the request path."""
        now = time.monotonic()
        if now < self._touched.get(row.id, 0.0):
            return
        self._touched[row.id] = now + TOUCH_EVERY.total_seconds()
        if row.last_used_at is not None and datetime.now(UTC) - row.last_used_at < TOUCH_EVERY:
            return

        def work() -> None:
            try:
                touch_token(self.store, row.id)
            except Exception as exc:  # the request was answered; say so, do not raise
                log.warning("could not record the last use of token %s: %s", row.name, exc)

        threading.Thread(target=work, name="purdah-token-touch", daemon=True).start()

    def _log(self, scope: Scope_, head: bool, state: dict[str, Any], started: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        principal: Principal | None = state["principal"]
        query = scope.get("query_string", b"").decode("latin-1")
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "client": (scope.get("client") or ("",))[0],
            "method": "HEAD" if head else scope["method"],
            "path": scrub(scope["path"])[:512],
            "query": scrub(query)[:512] if query else None,
            "status": state["status"],
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "token": principal.name if principal and principal.kind == "token" else None,
            "proxy_user": principal.name if principal and principal.kind == "proxy" else None,
        }
        access_log.info(json.dumps(entry, ensure_ascii=False))


async def request_version(store: Store, scope: Scope_) -> Any:
    """`Store.settled_version` for this request, settled once: the Guard's token look-up
    and the route's cache share it (a version settled after the request arrived holds for
    the whole request). SQLite: `data_version` afresh each time, a pragma."""
    if store.sqlite_path is not None:
        return store.data_version()
    if STORE_VERSION in scope:
        return scope[STORE_VERSION]
    version = scope[STORE_VERSION] = await store.settled_version()
    return version


def _presented_token(authorization: str) -> str | None:
    kind, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if kind.lower() == "bearer" and value:
        return value
    if kind.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None


async def _refuse(send: Send, refusal: _Refusal) -> None:
    body = json.dumps({"error": scrub(refusal.message)}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *refusal.headers,
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
