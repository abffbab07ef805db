"""Getting the bytes of a source: a file, or an http(s)/webcal URL with a size cap, a TOTAL
deadline and a conditional GET (ETag / Last-Modified) for registered feeds.

The deadline covers everything: connecting, the headers and the whole body. A server that
trickles one byte a second cannot keep a fetch busy past it (a per-read timeout would never
fire). The request runs on its own daemon thread; the caller waits for it at most until the
deadline, or until `cancel` is set (the scheduler stopping), whichever comes first, and then
abandons it: the thread notices at its next chunk, or its own read timeout ends it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purdah.errors import FeedRejected
from purdah.errors import FetchCancelled as FetchCancelled  # re-exported: its old home

USER_AGENT = "purdah (UK pre-election periods; +https://pypi.org/project/purdah/)"
DEADLINE_SECONDS = 30.0
MAX_BYTES = 16 * 1024 * 1024
_POLL = 0.05  # how often the waiting caller looks at `cancel`


@dataclass(frozen=True)
class Fetched:
    data: bytes | None  # None: not modified since the last fetch
    etag: str | None = None
    last_modified: str | None = None


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://", "webcal://"))


def fetch(
    location: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_BYTES,
    timeout: float = DEADLINE_SECONDS,
    cancel: threading.Event | None = None,
) -> Fetched:
    """The bytes at `location`. `timeout` is the total deadline in seconds for a URL."""
    if not is_url(location):
        path = Path(location).expanduser()
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise FeedRejected(
                    f"{location}: {size:,} bytes is more than the limit of {max_bytes:,}"
                )
            return Fetched(path.read_bytes())
        except FileNotFoundError:
            raise FeedRejected(f"{location}: no such file") from None
        except IsADirectoryError:
            raise FeedRejected(f"{location}: is a directory, not an .ics file") from None
        except OSError as exc:
            raise FeedRejected(f"{location}: cannot be read ({exc.strerror})") from None
    return _fetch_url(location, etag, last_modified, max_bytes, timeout, cancel)


def _fetch_url(
    location: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    timeout: float,
    cancel: threading.Event | None,
) -> Fetched:
    url = (
        "https://" + location[len("webcal://") :]
        if location.lower().startswith("webcal://")
        else location
    )
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    done = threading.Event()
    abandon = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = _get(location, url, headers, max_bytes, timeout, abandon)
        except BaseException as exc:  # handed to the waiting caller
            box["error"] = exc
        finally:
            done.set()

    deadline = time.monotonic() + timeout
    threading.Thread(target=work, name="purdah-fetch", daemon=True).start()
    while not done.wait(max(0.0, min(_POLL, deadline - time.monotonic()))):
        if cancel is not None and cancel.is_set():
            abandon.set()
            raise FetchCancelled(f"{location}: fetch abandoned, purdah is stopping")
        if time.monotonic() >= deadline:
            abandon.set()
            raise FeedRejected(
                f"{location}: no complete answer within {timeout:g} s "
                "(the limit covers connecting, the headers and the whole body)"
            )
    if "error" in box:
        raise box["error"]
    result: Fetched = box["result"]
    return result


def _get(
    location: str,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    timeout: float,
    abandon: threading.Event,
) -> Fetched:
    import httpx2

    too_big = f"{location}: more than {max_bytes:,} bytes; not imported"
    try:
        with (
            httpx2.Client(timeout=httpx2.Timeout(timeout), follow_redirects=True) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 304:
                return Fetched(None, headers.get("If-None-Match"), headers.get("If-Modified-Since"))
            if response.status_code >= 300:
                raise FeedRejected(
                    f"{location}: the server answered {response.status_code} "
                    f"{response.reason_phrase}"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedRejected(too_big)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                if abandon.is_set():
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FeedRejected(too_big)
                chunks.append(chunk)
            return Fetched(
                b"".join(chunks),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
    except httpx2.TimeoutException:
        raise FeedRejected(
            f"{location}: no complete answer within {timeout:g} s "
            "(the limit covers connecting, the headers and the whole body)"
        ) from None
    except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
        reason = str(exc) or type(exc).__name__
        raise FeedRejected(f"{location}: cannot be fetched ({reason})") from None
