"""Shared fixtures. `store` runs every store test on SQLite and, when a server is
reachable at $PURDAH_TEST_PG_URL (.ci/postgres starts one), on PostgreSQL too."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from purdah.clock import LONDON

PG_URL = os.environ.get("PURDAH_TEST_PG_URL")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def _pg_store():
    import sqlalchemy as sa

    from purdah.store import migrate, open_store

    store = open_store(PG_URL, create=True)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at $PURDAH_TEST_PG_URL not reachable: {exc.orig}")
    migrate(store)
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    from purdah.store import migrate, open_store

    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("no PostgreSQL: set PURDAH_TEST_PG_URL (bash .ci/postgres starts one)")
        s = _pg_store()
    else:
        s = open_store(str(tmp_path / "purdah.db"), create=True)
        migrate(s)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path):
    from purdah.store import migrate, open_store

    s = open_store(str(tmp_path / "purdah.db"), create=True)
    migrate(s)
    yield s
    s.close()
