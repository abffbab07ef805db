"""Migration 0013 on PostgreSQL: every table of the store has the statement-level trigger
that notifies `purdah_changed`, and a commit made by hand (not through purdah) notifies
as it commits. Nothing of it on SQLite."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.conftest import PG_URL

# pg_trigger.tgtype of AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ... FOR EACH STATEMENT:
# INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32; not ROW (1), not BEFORE (2) nor INSTEAD (64).
STATEMENT_AFTER_EVERY_WRITE = 4 | 8 | 16 | 32

_TABLES_AND_TRIGGERS = """
SELECT c.relname,
       (SELECT array_agg(t.tgtype::int ORDER BY t.tgtype) FROM pg_trigger t
        JOIN pg_proc f ON f.oid = t.tgfoid
        WHERE t.tgrelid = c.oid AND t.tgname = 'purdah_changed'
          AND f.proname = 'purdah_changed' AND t.tgenabled = 'O')
FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""


@pytest.fixture
def pg():
    if not PG_URL:
        pytest.skip("no PostgreSQL: set PURDAH_TEST_PG_URL (bash .ci/postgres starts one)")
    from tests.conftest import _pg_store

    store = _pg_store()
    yield store
    store.close()


def _raw(store) -> psycopg.Connection:
    return psycopg.connect(store._psycopg_url, autocommit=True)


def test_every_table_has_the_trigger(pg):
    """A table added by a later migration without `SELECT purdah_watch_tables()` fails here."""
    from sqlmodel import SQLModel

    import purdah.models  # noqa: F401

    rows = dict(pg.query(_TABLES_AND_TRIGGERS, {}))
    # every table the models describe is there, and alembic's own
    assert set(SQLModel.metadata.tables) | {"alembic_version"} <= set(rows)
    missing = sorted(name for name, kinds in rows.items() if kinds != [STATEMENT_AFTER_EVERY_WRITE])
    assert missing == [], f"tables without the purdah_changed trigger: {missing}"


def test_a_new_table_is_covered_by_watching_again_and_not_before(pg):
    with _raw(pg) as conn:
        conn.execute("CREATE TABLE later_table (id int)")
        rows = dict(pg.query(_TABLES_AND_TRIGGERS, {}))
        assert rows["later_table"] is None  # what the coverage test above would catch
        assert conn.execute("SELECT purdah_watch_tables()").fetchone()[0] == len(rows)
        rows = dict(pg.query(_TABLES_AND_TRIGGERS, {}))
        assert rows["later_table"] == [STATEMENT_AFTER_EVERY_WRITE]


def _notified(listener: psycopg.Connection, seconds: float = 5.0) -> int:
    got = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += sum(1 for _ in listener.notifies(timeout=0.2, stop_after=1))
        if got:
            # a moment more for anything else of the same commit
            got += sum(1 for _ in listener.notifies(timeout=0.2))
            return got
    return got


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE meta SET value = value",
        "INSERT INTO meta (key, value) VALUES ('by-hand', 'x')",
        "DELETE FROM api_token",
        "TRUNCATE non_working_day",
    ],
)
def test_a_commit_by_hand_notifies_once_at_commit(pg, statement):
    with _raw(pg) as listener, _raw(pg) as writer:
        listener.execute("LISTEN purdah_changed")
        with writer.transaction():
            writer.execute(statement)
            writer.execute(statement.replace("'by-hand'", "'by-hand-2'"))
            assert _notified(listener, 0.5) == 0  # nothing before the commit
        assert _notified(listener) == 1  # one per transaction, however many statements
        with writer.transaction():
            writer.execute("SELECT count(*) FROM meta")  # reading notifies nothing
        assert _notified(listener, 0.5) == 0


def test_nothing_of_it_on_sqlite(sqlite_store):
    rows = sqlite_store.query("SELECT name FROM sqlite_master WHERE type = 'trigger'", {})
    assert rows == []


def _barriers_with_the_answer_read_elsewhere(store, read, count: int = 3) -> list[object]:
    """`count` barriers of a fresh ChangeSignal on `store`, each with its answer read off
    the socket by `read(signal)` the moment `_send` lets go of the lock (after waiting
    for the answer to arrive), as another thread may do; then the signal is closed."""
    import asyncio
    import select
    import threading

    from purdah import changes

    signal = changes.ChangeSignal(store._psycopg_url, "the test's store")
    sent = threading.Event()

    class ReadsRightAfterSending:
        def __init__(self) -> None:
            self._lock = threading.Lock()

        def __enter__(self) -> None:
            self._lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self._lock.release()
            if sent.is_set() and signal._pgconn is not None:
                sent.clear()
                select.select([signal._fd], [], [], 5.0)  # the answer has arrived
                read(signal)

    class Sending:
        def __init__(self, pgconn: object) -> None:
            self._pgconn = pgconn

        def send_query(self, query: bytes) -> None:
            self._pgconn.send_query(query)  # type: ignore[attr-defined]
            sent.set()

        def __getattr__(self, name: str) -> object:
            return getattr(self._pgconn, name)

    async def barriers() -> list[object]:
        first = await signal.settled()  # opens the listener
        signal._lock = ReadsRightAfterSending()  # type: ignore[assignment]
        signal._pgconn = Sending(signal._pgconn)
        return [first] + [await asyncio.wait_for(signal.settled(), 10.0) for _ in range(count)]

    try:
        return asyncio.run(barriers())
    finally:
        signal.close()


def test_the_barrier_is_answered_when_another_thread_reads_its_answer_first(
    pg, caplog, monkeypatch
):
    """`seen` (any thread: a cache's version check) may read the barrier's answer off the
    socket the moment `_send` lets go of the lock; the loop must still be woken for it.
    Made to happen every time here. Before the fix the answer was consumed unseen and the
    request waited for the barrier's timeout, then was answered without caching (the CI
    failure of tests/web/test_caches_pg.py::test_the_caches_are_used)."""
    import logging

    from purdah import changes

    monkeypatch.setattr(changes, "BARRIER_TIMEOUT", 60.0)  # a lost wake hangs the test
    caplog.set_level(logging.WARNING, logger="purdah.store")
    versions = _barriers_with_the_answer_read_elsewhere(pg, lambda signal: signal.seen())
    assert None not in versions and len({v[0] for v in versions}) == 1  # one epoch
    assert not [r.getMessage() for r in caplog.records]


def test_an_answer_read_but_never_woken_for_is_taken_at_the_timeout_and_said(
    pg, caplog, monkeypatch
):
    """The safety net under the fix above: if the loop is ever not woken for an answer
    already read (here the socket is read behind the signal's back), the barrier's timer
    finds it, answers with the version (the listener is not dropped) and warns."""
    import logging

    from purdah import changes

    monkeypatch.setattr(changes, "BARRIER_TIMEOUT", 0.2)
    caplog.set_level(logging.WARNING, logger="purdah.store")
    versions = _barriers_with_the_answer_read_elsewhere(
        pg, lambda signal: signal._pgconn.consume_input(), count=2
    )
    assert None not in versions and len({v[0] for v in versions}) == 1
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and all("was not woken for it" in m for m in said), said
