"""A small register served by the app, and tokens of each scope."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from purdah.clock import LONDON
from purdah.services.elections import add_election
from purdah.services.reconcile import reconcile
from purdah.services.tokens import Scope, add_token
from purdah.web.app import create_app
from purdah.web.settings import WebSettings
from tests.services.helpers import SETUP, nottinghamshire, set_clock

NOW = datetime(2027, 4, 1, 12, tzinfo=LONDON)


@pytest.fixture
def register(sqlite_store):
    nottinghamshire(sqlite_store)
    add_election(set_clock(sqlite_store, SETUP), "local.selston.2027-05-06", nation="ENG")
    add_election(set_clock(sqlite_store, SETUP), "pcc.nottinghamshire.2028-05-04")
    reconcile(set_clock(sqlite_store, NOW))
    return sqlite_store


@pytest.fixture
def tokens(register):
    """The secret of a `read` and of a `check` token."""
    return {
        "read": add_token(register, "clerk", Scope.READ).secret,
        "check": add_token(register, "rota-tool", Scope.CHECK).secret,
    }


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def make_client(register):
    def make(settings: WebSettings | None = None, token: str | None = None) -> TestClient:
        app = create_app(register, clock=lambda: NOW, settings=settings)
        return TestClient(app, headers=bearer(token) if token else None)

    return make


@pytest.fixture
def client(make_client, tokens):
    """Signed in with a read token."""
    return make_client(token=tokens["read"])


@pytest.fixture
def anon(make_client):
    return make_client()
