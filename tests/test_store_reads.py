"""`Store.query` on PostgreSQL: held autocommit connections, read-only, and a dropped
connection replaced without the caller seeing it; `snapshot_cache` on SQLite."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from purdah.decide import Action
from purdah.services.check import check
from purdah.store import _pyformat
from tests.services.helpers import nottinghamshire


def test_named_parameters_become_pyformat_and_casts_stay():
    assert _pyformat("SELECT :a::text, '50%' WHERE x = :b_2") == (
        "SELECT %(a)s::text, '50%%' WHERE x = %(b_2)s"
    )


def test_a_dropped_read_connection_is_replaced(store):
    nottinghamshire(store)
    if store.dialect != "postgresql":
        assert store.snapshot_cache() is not None
        return
    assert store.snapshot_cache() is None
    before = check(store, "selston/jane-doe", Action.PROMOTE, store.clock())
    pids = [row[0] for row in store.query("SELECT pg_backend_pid()", {})]
    with store.engine.begin() as conn:  # the server ends the idle reader
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})
    after = check(store, "selston/jane-doe", Action.PROMOTE, store.clock())
    assert after == before
    assert store.query("SELECT pg_backend_pid()", {})[0][0] != pids[0]


def test_reads_cannot_write(store):
    nottinghamshire(store)
    if store.dialect != "postgresql":
        return
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        store.query("UPDATE councillor SET name = 'x' RETURNING id", {})
