"""The webhook channel: one signed HTTP POST per attempt (Standard Webhooks).

Headers `webhook-id` (the event id: the receiver's idempotency key, the same on every
retry), `webhook-timestamp` (the attempt's Unix time) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of id.timestamp.body>`), signed with the maintained
`standardwebhooks` package. The secret is read from the environment variable the
endpoint names, in the sending process, at each attempt: never stored, never logged.

Each attempt has a total deadline (connecting, sending and the answer together), runs on
a small pool of its own threads, and never follows a redirect: a 307 or 308 to the same
origin (scheme, host and port) is followed, up to three times, and any other redirect is
a failed attempt that says where it pointed. 2xx is delivered; anything else is retried.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa

from purdah.errors import InputError
from purdah.models import webhook_t
from purdah.outbox.dispatch import Item, Outcome
from purdah.outbox.payload import body as render_body
from purdah.store import Store

CHANNEL = "webhook"
TIMEOUT_SECONDS = 10.0  # the total deadline of one attempt
MAX_REDIRECTS = 3
MAX_ANSWER_BYTES = 64 * 1024  # what is read of a receiver's answer (then dropped)
USER_AGENT = "purdah-webhooks/1"
_CACHE_SECONDS = 5.0
H = webhook_t.c


def check_url(url: str) -> str:
    """An endpoint purdah may POST to: https anywhere, or http on loopback and private
    addresses (tests and internal receivers, SETTLED). InputError otherwise."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"webhook URL {url!r} is not an http(s) URL: give https://HOST/PATH")
    if parts.username or parts.password:
        raise InputError(f"webhook URL {url!r} has credentials in it: use the signing secret")
    if scheme == "http" and not is_private_host(parts.hostname):
        raise InputError(
            f"webhook URL {url!r} is plain http to a public host: use https (http is allowed "
            "only for localhost and loopback or private IP addresses)"
        )
    return url.strip()


def is_private_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def check_secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret held in environment variable `name`, checked to be a usable Standard
    Webhooks key (`whsec_` + base64). InputError saying what to do otherwise."""
    from standardwebhooks import Webhook

    env = os.environ if environ is None else environ
    value = env.get(name)
    if not value:
        raise InputError(
            f"environment variable {name} is not set: set it to the endpoint's secret "
            "(whsec_ followed by base64, e.g. from 'purdah webhook secret')"
        )
    try:
        Webhook(value)
    except Exception:
        raise InputError(
            f"environment variable {name} does not hold a usable secret: it must be whsec_ "
            "followed by base64 of at least 24 bytes ('purdah webhook secret' makes one)"
        ) from None
    return value


def new_secret() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, key: str, at: datetime, text: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    from standardwebhooks import Webhook

    utc = at.astimezone(UTC)  # the package reads the instant as UTC whatever its zone
    return {
        "webhook-id": key,
        "webhook-timestamp": str(int(utc.timestamp())),
        "webhook-signature": Webhook(secret).sign(key, utc, text),
    }


class WebhookChannel:
    """Sends deliveries of lanes whose target is a webhook's id."""

    name = CHANNEL

    def __init__(
        self,
        store: Store,
        *,
        timeout: float = TIMEOUT_SECONDS,
        environ: Mapping[str, str] | None = None,
        workers: int = 8,
    ) -> None:
        import httpx2

        self.store = store
        self.timeout = timeout
        self.environ = os.environ if environ is None else environ
        self._client = httpx2.Client(
            timeout=httpx2.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="purdah-webhook")
        self._endpoints: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def _endpoint(self, target: str) -> Any:
        with self._lock:
            cached = self._endpoints.get(target)
            if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
                return cached[1]
        with self.store.read() as conn:
            row = conn.execute(sa.select(webhook_t).where(H.id == int(target))).first()
        with self._lock:
            self._endpoints[target] = (time.monotonic(), row)
        return row

    def send(self, target: str, item: Item) -> Outcome:
        hook = self._endpoint(target)
        if hook is None or hook.removed_at is not None:
            return Outcome(False, error=f"webhook {target} was removed", final=True)
        secret = self.environ.get(hook.secret_env)
        if not secret:
            return Outcome(
                False,
                error=f"environment variable {hook.secret_env} is not set in the sending "
                "process: nothing sent",
            )
        text = render_body(item.event, item.instance)
        try:
            headers = sign(secret, item.key, datetime.now(UTC), text)
        except Exception:
            return Outcome(
                False, error=f"environment variable {hook.secret_env} is not a usable secret"
            )
        headers["content-type"] = "application/json"
        future: Future[Outcome] = self._pool.submit(self._post, hook.url, text, headers)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            return Outcome(
                False,
                error=f"no complete answer within {self.timeout:g} s (the limit covers "
                "connecting, sending and the answer)",
            )

    def _post(self, url: str, text: str, headers: dict[str, str]) -> Outcome:
        import httpx2

        deadline = time.monotonic() + self.timeout
        current = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                with self._client.stream(
                    "POST", current, content=text.encode(), headers=headers
                ) as response:
                    read = 0
                    for chunk in response.iter_bytes():
                        read += len(chunk)
                        if read >= MAX_ANSWER_BYTES or time.monotonic() > deadline:
                            break
                    status = response.status_code
                    location = response.headers.get("location")
                if 200 <= status < 300:
                    return Outcome(True, status)
                if 300 <= status < 400:
                    if not location:
                        return Outcome(False, status, f"HTTP {status} without a Location")
                    target = urljoin(current, location)
                    if status in (307, 308) and _same_origin(current, target):
                        current = target
                        continue
                    return Outcome(
                        False,
                        status,
                        f"HTTP {status} redirect to {target} not followed (only a 307 or 308 "
                        "to the same scheme, host and port is)",
                    )
                return Outcome(False, status, f"HTTP {status}")
            return Outcome(False, None, f"more than {MAX_REDIRECTS} redirects")
        except httpx2.TimeoutException:
            return Outcome(False, None, f"timed out (limit {self.timeout:g} s)")
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            return Outcome(
                False, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            )


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)
