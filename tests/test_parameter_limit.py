"""No statement sends more bind parameters than `purdah.queries.BOUND_AT_MOST`, whatever
the size of the register.

PostgreSQL refuses a statement of more than 65,535 parameters and SQLite one of more than
its compiled limit (32,766 by default); lists of councils, councillors and windows on the
national register run past both (a recompute of 100,000 councils once sent PostgreSQL
more). Here SQLite's limit is lowered to BOUND_AT_MOST on every connection the process
opens (sqlite3's `setlimit`), and a register of more councils and councillors than that
goes through the paths that name many of them in one statement: computing every window,
the mass switch, listings, elections added and cancelled over everyone (with the outbox
recording the events, a webhook registered), imports, and a dry run. Any IN list not
written with `among` fails here with "too many SQL variables".
"""

from __future__ import annotations

import csv
import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from purdah.cli import main
from purdah.queries import BOUND_AT_MOST
from purdah.services.reconcile import reconcile
from purdah.store import open_store

COUNCILS = 3 * BOUND_AT_MOST  # councils, councillors (2 each) and windows all beyond it
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _national():
    path = Path(__file__).parent.parent / "bench" / "national.py"
    spec = importlib.util.spec_from_file_location("bench_national", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_national", module)
    spec.loader.exec_module(module)
    return module


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return path


@pytest.fixture
def tight(monkeypatch):
    """Every SQLite connection opened from now on refuses more than BOUND_AT_MOST
    parameters a statement (through sqlite3 and through SQLAlchemy's pysqlite)."""
    real = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, BOUND_AT_MOST)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)


def test_the_limit_is_in_force(tight, tmp_path):
    """The check of this module can fail: one parameter too many is refused."""
    store = open_store(str(tmp_path / "x.db"), create=True)
    try:
        with store.engine.connect() as conn:
            over = {f"p{i}": i for i in range(BOUND_AT_MOST + 1)}
            with pytest.raises(sa.exc.OperationalError, match="too many SQL variables"):
                conn.execute(sa.text("SELECT " + ", ".join(f":{k}" for k in over)), over)
            assert conn.execute(sa.text("SELECT 1 IN (:a)"), {"a": 1}).scalar() == 1
    finally:
        store.close()


def test_a_register_larger_than_the_limit(tight, tmp_path, monkeypatch):
    national = _national()
    db = tmp_path / "national.db"
    councils, councillors, windows = national._build(db, COUNCILS, 2)
    assert min(councils, councillors, windows) > BOUND_AT_MOST
    runner = CliRunner()
    monkeypatch.setenv("HOOK", SECRET)

    def purdah(*args: str) -> str:
        result = runner.invoke(main, ["--db", str(db), *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    purdah("webhook", "add", "http://127.0.0.1:9/hook", "--secret-env", "HOOK")
    # The PCC polls of 4 May 2028 cover every council: everyone switches at once.
    purdah("reconcile", "--at", national.MASS_BOUNDARY.isoformat())  # a dry run
    store = open_store(str(db))
    try:
        reconcile(national.at(store, national.MASS_BOUNDARY))
        (restricted,) = store.query("SELECT count(*) FROM councillor WHERE NOT may_promote", {})[0]
        (events,) = store.query("SELECT count(*) FROM outbox_event", {})[0]
    finally:
        store.close()
    assert restricted == councillors
    assert events > councillors  # a flag.changed per change, besides the period events
    status = purdah("status", "--at", "2028-03-28T12:00")
    assert "county-0/c0" in status
    purdah("today", "--at", "2028-03-28T12:00")
    purdah("windows")
    # Elections over everyone: added, then cancelled (their windows removed, and events).
    purdah("election", "add", "local.county-0.2030-05-02", "--area", "county-0")
    purdah("election", "cancel", "parl.2029-08-16")
    purdah("reconcile", "--at", "2028-03-28T12:00")
    # Imports of more councils, and of more councillors to one council, than the limit.
    extra = range(BOUND_AT_MOST + 10)
    rows = _csv(
        tmp_path / "councils.csv",
        ["slug", "name", "nation", "kind", "within"],
        [[f"extra-{i}", f"Extra {i}", "ENG", "parish", "district-0;county-0"] for i in extra],
    )
    purdah("council", "import", str(rows))
    people = _csv(
        tmp_path / "people.csv",
        ["name", "slug", "ward", "role", "may_post"],
        [[f"Person {i}", f"p{i}", "", "", "yes"] for i in extra],
    )
    purdah("councillor", "import", str(people), "--council", "extra-0")
    listed = purdah("council", "list")
    assert f"extra-{BOUND_AT_MOST + 9}" in listed
