"""Opening the store: URL resolution, SQLite pragmas, write transactions, migrations.

Embedded default: a SQLite file with WAL, foreign keys, a busy timeout, and write
transactions opened with BEGIN IMMEDIATE (a plain BEGIN that reads and then writes
fails at once under contention, busy timeout or not). PostgreSQL through the same
URL option; reconcile there takes a transaction-level advisory lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from purdah.errors import PurdahError

ENV_DB = "PURDAH_DB"
SCHEMA_HEAD = "0001"


class StoreError(PurdahError):
    """The store cannot be opened or is not initialised. Exit 2 for `check`."""

    exit_code = 2


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "purdah" / "purdah.db"


def resolve_url(db: str | None) -> str:
    """Option, then $PURDAH_DB, then the default SQLite file. A bare path means SQLite."""
    value = db or os.environ.get(ENV_DB) or str(default_db_path())
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


@dataclass
class Store:
    engine: Engine
    url: str

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        with self.engine.execution_options(purdah_write=True).begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("purdah_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_store(db: str | None = None, *, create: bool = False) -> Store:
    """Open the store named by `db` (or $PURDAH_DB, or the default file).

    Without `create`, a SQLite file that does not exist, or a database without
    purdah's schema, is a StoreError telling the user to run `purdah init`.
    """
    url = resolve_url(db)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            if not create and not Path(path).exists():
                raise StoreError(
                    f"no purdah store at {path}: run 'purdah init' first (or give --db / ${ENV_DB})"
                )
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(url)
    else:
        try:
            engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {url!r}: {exc}") from None
    store = Store(engine, url)
    if not create:
        _require_schema(store)
    return store


def _require_schema(store: Store) -> None:
    try:
        with store.read() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise StoreError(
                f"the database {store.url} has no purdah schema: run 'purdah init'"
            ) from None
        raise StoreError(f"cannot reach the store {store.url}: {exc.orig}") from None
    except sa.exc.ProgrammingError:
        raise StoreError(
            f"the database {store.url} has no purdah schema: run 'purdah init'"
        ) from None
    if version != SCHEMA_HEAD:
        raise StoreError(
            f"the store's schema is at {version}, this purdah needs {SCHEMA_HEAD}: "
            "run 'purdah init' to upgrade"
        )


def migrate(store: Store) -> str:
    """Create or upgrade the schema to the newest migration; returns the revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    if store.dialect == "sqlite":
        # A table rebuild with foreign keys on would cascade deletes: migrate with them off.
        with store.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, or it is ignored
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
            raw.execute("PRAGMA foreign_keys=ON")
    else:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return SCHEMA_HEAD
