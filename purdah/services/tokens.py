"""Tokens for the HTTP service's private routes (`purdah token ...`).

A token is `purdah_` and 43 characters of URL-safe base64: 256 random bits from the
operating system's generator. The prefix lets secret scanners spot a leaked one. Only the
SHA-256 of the whole token is stored: a random 256-bit secret cannot be guessed from its
hash, so a slow password hash would only tax every request. A presented token is looked up
by its hash and the stored hash compared again in constant time. The token itself is
returned once, by `add_token`, and never stored, logged or echoed.

Scopes: `check` allows GET /api/check only; `read` allows every private route.
Revoking deletes the row, so the next request with that token is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from purdah.errors import InputError, NotFound
from purdah.models import api_token_t
from purdah.store import Store, as_instant

T = api_token_t.c
PREFIX = "purdah_"
# last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Anything that looks like a token, to scrub from text that is logged or answered.
TOKEN_PATTERN = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_-]+")
_LOOKUP_SQL = (
    "SELECT id, name, scope, token_hash, last_used_at FROM api_token WHERE token_hash = :h"
)


class Scope(StrEnum):
    READ = "read"
    CHECK = "check"


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    scope: Scope
    created_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    row: TokenRow
    secret: str  # shown once; never stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def scrub(text: str) -> str:
    """`text` with anything shaped like a token replaced, for logs and error answers."""
    return TOKEN_PATTERN.sub(PREFIX + "[redacted]", text)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(
            f"token name {scrub(name)!r} is not allowed: use 1 to 64 lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit (e.g. cms or rota-tool)"
        )
    return name


def add_token(store: Store, name: str, scope: Scope = Scope.READ) -> NewToken:
    """A new token named `name`; the only time its value is seen."""
    check_name(name)
    secret = PREFIX + secrets.token_urlsafe(32)
    with store.write() as (conn, now):  # the instant read once the write lock is held
        if conn.execute(sa.select(T.id).where(T.name == name)).first():
            raise InputError(
                f"there is already a token named {name!r}: choose another name, or "
                f"'purdah token revoke {name}' first"
            )
        new_id = conn.execute(
            sa.insert(api_token_t).values(
                name=name, scope=scope.value, token_hash=hash_token(secret), created_at=now
            )
        ).inserted_primary_key
    assert new_id is not None
    return NewToken(TokenRow(int(new_id[0]), name, scope, now, None), secret)


def list_tokens(store: Store) -> list[TokenRow]:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(T.id, T.name, T.scope, T.created_at, T.last_used_at).order_by(T.name)
        ).all()
    return [TokenRow(r[0], r[1], Scope(r[2]), r[3], r[4]) for r in rows]


def revoke_token(store: Store, name: str) -> TokenRow:
    """Delete the token: the next request that presents it is refused."""
    with store.write() as (conn, _now):
        row = conn.execute(
            sa.select(T.id, T.name, T.scope, T.created_at, T.last_used_at).where(T.name == name)
        ).first()
        if row is None:
            raise NotFound(f"no token named {scrub(name)!r}: see 'purdah token list'")
        conn.execute(sa.delete(api_token_t).where(T.id == row[0]))
    return TokenRow(row[0], row[1], Scope(row[2]), row[3], row[4])


def authenticate(store: Store, presented: str) -> TokenRow | None:
    """The token row for a presented token, or None. One indexed read (the standard
    library's sqlite3 on SQLite), so a revoked token fails on the very next request."""
    if not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    digest = hash_token(presented)
    rows = store.query(_LOOKUP_SQL, {"h": digest})
    if not rows or not hmac.compare_digest(str(rows[0][3]), digest):
        return None
    token_id, name, scope, _hash, last_used = rows[0]
    return TokenRow(
        int(token_id), name, Scope(scope), None, as_instant(last_used) if last_used else None
    )


def touch_token(store: Store, token_id: int) -> bool:
    """Record that a token was used now, unless it was within TOUCH_EVERY already.
    Returns whether a row changed."""
    with store.write() as (conn, now):
        result = conn.execute(
            sa.update(api_token_t)
            .where(T.id == token_id)
            .where(sa.or_(T.last_used_at.is_(None), T.last_used_at < now - TOUCH_EVERY))
            .values(last_used_at=now)
        )
    return bool(result.rowcount)
