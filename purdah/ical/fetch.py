"""Getting the bytes of a source: a file, or an http(s)/webcal URL with size and time limits
and a conditional GET (ETag / Last-Modified) for registered feeds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from purdah.ical.reader import FeedRejected

USER_AGENT = "purdah (UK pre-election periods; +https://pypi.org/project/purdah/)"


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
    max_bytes: int = 16 * 1024 * 1024,
    timeout: float = 30.0,
) -> Fetched:
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
    return _fetch_url(location, etag, last_modified, max_bytes, timeout)


def _fetch_url(
    location: str, etag: str | None, last_modified: str | None, max_bytes: int, timeout: float
) -> Fetched:
    import urllib.error
    import urllib.request

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
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise FeedRejected(f"{location}: more than {max_bytes:,} bytes; not imported")
            return Fetched(
                data, response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        raise FeedRejected(f"{location}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FeedRejected(f"{location}: cannot be fetched ({exc.reason})") from None
    except TimeoutError:
        raise FeedRejected(f"{location}: no answer within {timeout:.0f} s") from None
