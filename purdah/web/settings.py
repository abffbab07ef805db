"""The HTTP service's access settings (`purdah serve` options), and its access log.

Light on purpose: the command line imports it without the web stack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

access_log = logging.getLogger("purdah.access")
DEFAULT_RATE_LIMIT = "600/minute"


@dataclass(frozen=True)
class WebSettings:
    """How the HTTP service guards its private routes (`purdah serve` options)."""

    public_only: bool = False
    trust_proxy_auth: bool = False
    trusted_proxies: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    rate_limit: str | None = DEFAULT_RATE_LIMIT  # a `limits` string, or None for none
    header_timeout: float = 10.0  # seconds a client may take to send a request's head


def log_access_to_stderr() -> None:
    """Send the access log, one JSON object a line, to standard error (idempotent)."""
    if any(getattr(h, "purdah_access", False) for h in access_log.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.purdah_access = True  # type: ignore[attr-defined]
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def parse_rate_limit(text: str | None) -> str | None:
    """A rate such as `600/minute` (checked now), or None for `off`."""
    from limits import parse

    from purdah.errors import InputError

    if text is None or text.strip().lower() in {"off", "none", "0"}:
        return None
    try:
        parse(text)
    except ValueError:
        raise InputError(
            f"--rate-limit {text!r} is not a rate: write e.g. 600/minute, 20/second, or off"
        ) from None
    return text.strip()
