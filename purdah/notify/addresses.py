"""E-mail addresses as purdah stores them: one plain address, checked before it is kept."""

from __future__ import annotations

import re

from purdah.errors import InputError

# A practical check, not RFC 5322: one @, a local part and a domain with a dot, no spaces,
# no control characters (so an address can never add a header), nothing quoted.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_LENGTH = 254


def check_address(value: str, what: str = "e-mail address") -> str:
    """The address, trimmed and with its domain in lower case; InputError saying what is
    wrong otherwise. An empty value is for the caller to treat as "clear"."""
    address = value.strip()
    if len(address) > MAX_LENGTH:
        raise InputError(f"{what} {address[:40]!r}... is longer than {MAX_LENGTH} characters")
    if not _ADDRESS.match(address) or ".." in address or address.startswith("."):
        raise InputError(
            f"{what} {address!r} is not a plain e-mail address: give it as name@example.gov.uk "
            "(no display name, spaces or quotes)"
        )
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"
