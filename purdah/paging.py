"""Pages of the list commands (`status`, `history`, `election list`, `council list`,
`today`) and of their HTTP routes: a limit and an opaque cursor.

A cursor names the last row of the page it ends and the list it belongs to (and, for a
list of answers at an instant, that instant and the council asked about), so the next
page continues in the same stable order, at the same instant, whatever the clock says by
then. It is URL-safe base64 of a small JSON object: opaque to clients, never trusted
beyond being decoded and checked here.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from purdah.errors import InputError

T = TypeVar("T")

# /api/* pages when the request gives no limit, and the most one page may hold.
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Cursor:
    """Where a list stopped: `after` is the sort key of the last row already given."""

    kind: str
    after: tuple[Any, ...]
    at: str | None = None  # ISO instant of the answers, for lists of answers at a time
    council: str | None = None  # the --council / ?council= the list was asked for

    def encode(self) -> str:
        body: dict[str, Any] = {"k": self.kind, "a": list(self.after)}
        if self.at is not None:
            body["t"] = self.at
        if self.council is not None:
            body["c"] = self.council
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str, kind: str, arity: int | None = None) -> Cursor:
    """The cursor `text` for the list `kind`, or InputError saying where to get one."""
    hint = f"give the 'next' value of a previous page of {kind!r} exactly as it was printed"
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        body = json.loads(raw.decode())
        after = body["a"]
        found = body["k"]
        if not isinstance(after, list) or not isinstance(found, str):
            raise ValueError(after)
        if arity is not None and found == kind and len(after) != arity:
            raise ValueError(after)
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise InputError(f"cursor {text[:40]!r} is not one purdah gave: {hint}") from None
    if found != kind:
        raise InputError(f"that cursor continues {found!r}, not {kind!r}: {hint}")
    at, council = body.get("t"), body.get("c")
    return Cursor(found, tuple(after), at if isinstance(at, str) else None, council)


def check_limit(limit: int | None, most: int | None = None) -> None:
    if limit is not None and limit < 1:
        raise InputError(f"limit {limit} is not a number of rows: give 1 or more")
    if limit is not None and most is not None and limit > most:
        raise InputError(f"limit {limit} is more than one page may hold: give at most {most}")


def same_or_cursor(name: str, given: str | None, in_cursor: str | None) -> str | None:
    """The cursor's value for an option, refusing a different one given alongside it."""
    if given is not None and in_cursor is not None and given != in_cursor:
        raise InputError(
            f"the cursor continues the list for {name} {in_cursor!r}, not {given!r}: "
            f"drop {name} or start again without the cursor"
        )
    if given is not None and in_cursor is None:
        raise InputError(
            f"the cursor continues a list asked without {name}: drop {name} "
            "or start again without the cursor"
        )
    return in_cursor


@dataclass(frozen=True)
class Names:
    """How a front end names the options `resume` may refuse (CLI: --at, --council and
    --after; HTTP: the query parameters)."""

    at: str = "--at"
    council: str = "--council"
    cursor: str = "--after"


CLI = Names()
HTTP = Names("at", "council", "the cursor")


@dataclass(frozen=True)
class Resumed:
    at: datetime | None  # the instant the cursor's list is answered at (None: it names none)
    council: str | None
    after: tuple[Any, ...]


def resume(
    text: str,
    kind: str,
    arity: int,
    *,
    at: str | None,
    council: str | None,
    names: Names = CLI,
) -> Resumed:
    """Where the cursor `text` of the list `kind` continues: its instant, its council and
    the key of its last row, refusing an `at` or `council` given beside it that differs
    from the cursor's (the next page is of the same list)."""
    from purdah.clock import parse_when

    found = decode(text, kind, arity)
    instant = None
    if found.at is not None:
        instant = parse_when(found.at, "cursor")
        if at and parse_when(at, names.at) != instant:
            raise InputError(
                f"the cursor continues the list as of {found.at}, not {names.at} {at}: drop "
                f"{names.at} or start again without {names.cursor}"
            )
    return Resumed(instant, same_or_cursor(names.council, council, found.council), found.after)


def page(
    rows: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    limit: int | None,
    after: tuple[Any, ...] | None,
) -> tuple[list[T], tuple[Any, ...] | None]:
    """The rows (already in `key` order) after `after`, at most `limit` of them, and the
    key of the last row given when more follow (None when the list is complete)."""
    start = 0
    if after is not None:
        start = next((i for i, r in enumerate(rows) if _tuple(key(r)) > _tuple(after)), len(rows))
    end = len(rows) if limit is None else min(len(rows), start + limit)
    chosen = list(rows[start:end])
    return chosen, (key(chosen[-1]) if end < len(rows) and chosen else None)


def _tuple(key: tuple[Any, ...]) -> tuple[Any, ...]:
    # JSON gives lists back and None sorts nowhere: compare as (is-not-None, value) pairs.
    return tuple((v is not None, v if v is not None else "") for v in key)


def page_today(
    result: Any, limit: int | None, after: tuple[Any, ...] | None, council: str | None
) -> tuple[Any, str | None]:
    """`purdah today`'s answer with only one page of its councils (by slug), and the
    cursor of the next page (at the same instant, for the same --council)."""
    from dataclasses import replace

    from purdah.serialize import iso_instant

    chosen, last = page(list(result.councils), lambda c: (c.slug,), limit, after)
    following = None
    if last is not None:
        following = Cursor("today", last, iso_instant(result.at), council).encode()
    return replace(result, councils=tuple(chosen)), following
