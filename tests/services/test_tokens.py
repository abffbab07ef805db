"""Tokens on both stores: made, found by hash, touched at most once a minute, revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from purdah.errors import InputError, NotFound
from purdah.services.tokens import (
    Scope,
    add_token,
    authenticate,
    hash_token,
    list_tokens,
    revoke_token,
    scrub,
    touch_token,
)
from tests.services.helpers import set_clock

T0 = datetime(2027, 1, 1, 9, tzinfo=UTC)


def test_a_token_is_found_by_its_value_until_revoked(store):
    new = add_token(set_clock(store, T0), "cms", Scope.CHECK)
    found = authenticate(store, new.secret)
    assert found is not None and (found.name, found.scope) == ("cms", Scope.CHECK)
    assert authenticate(store, new.secret + "x") is None
    assert authenticate(store, "purdah_" + "A" * 43) is None
    assert authenticate(store, hash_token(new.secret)) is None  # the hash is not the token
    revoke_token(store, "cms")
    assert authenticate(store, new.secret) is None
    with pytest.raises(NotFound):
        revoke_token(store, "cms")


def test_last_used_moves_at_most_once_a_minute(store):
    new = add_token(set_clock(store, T0), "clerk")
    assert touch_token(set_clock(store, T0 + timedelta(seconds=5)), new.row.id)
    assert not touch_token(set_clock(store, T0 + timedelta(seconds=50)), new.row.id)
    assert touch_token(set_clock(store, T0 + timedelta(seconds=66)), new.row.id)
    (row,) = list_tokens(store)
    assert row.last_used_at == T0 + timedelta(seconds=66)
    assert row.created_at == T0


def test_names_are_unique_and_checked(store):
    add_token(store, "cms")
    with pytest.raises(InputError, match="already a token named 'cms'"):
        add_token(store, "cms")
    with pytest.raises(InputError, match="is not allowed"):
        add_token(store, "no spaces")
    assert [t.name for t in list_tokens(store)] == ["cms"]


def test_scrub_hides_anything_shaped_like_a_token():
    assert scrub("see purdah_abc-DEF_123 now") == "see purdah_[redacted] now"
