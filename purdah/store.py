"""Opening the store: URL resolution, SQLite pragmas, write transactions, migrations.

Embedded default: a SQLite file with WAL, foreign keys, a busy timeout, and write
transactions opened with BEGIN IMMEDIATE (a plain BEGIN that reads and then writes
fails at once under contention, busy timeout or not). PostgreSQL through the same
URL option; reconcile there takes a transaction-level advisory lock.

Every write runs in `Store.write()`, which takes the write lock first (SQLite
`BEGIN IMMEDIATE`, PostgreSQL a transaction-level advisory lock, both waiting at most
`lock_wait` seconds) and only then reads the clock: the instant it yields is the one
every change in the transaction is decided at and stamped with. Tests inject a clock
(`Store(url, clock=...)`); nothing else chooses a write's instant.

SQLAlchemy is imported only when something needs an engine: `purdah check`, the hot
path, reads a SQLite store with the standard library's sqlite3 (see `Store.query`),
so a whole `purdah check` process stays cheap.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from purdah.clock import LONDON
from purdah.errors import StoreBusy
from purdah.errors import StoreError as StoreError  # re-exported: its old home

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from purdah.changes import ChangeSignal

ENV_DB = "PURDAH_DB"
# The meta row that records the instant of the last reconcile (written by reconcile, read
# by check, status and /healthz).
LAST_RECONCILE_KEY = "last_reconcile_at"
SCHEMA_HEAD = "0013_change_signal"
# The meta row holding the start policy a council gets when none is given (purdah init).
DEFAULT_START_POLICY_KEY = "default_start_policy"
# The transaction-level advisory lock every write takes on PostgreSQL ("purd").
WRITE_LOCK_KEY = 0x70757264
# How long a write waits for the lock before giving up with StoreBusy (seconds).
LOCK_WAIT = 30.0
# At most this many idle read connections are kept per store on PostgreSQL.
PG_IDLE_READERS = 8
# How SQLAlchemy's SQLite dialect stores a DateTime: naive UTC text, which compares
# correctly as text.
SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "purdah" / "purdah.db"


def resolve_url(db: str | None) -> str:
    """Option, then $PURDAH_DB, then the default SQLite file. A bare path means SQLite."""
    value = db or os.environ.get(ENV_DB) or str(default_db_path())
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def as_instant(value: Any) -> datetime:
    """An instant read with plain SQL: SQLite text or a datetime, as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime), value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_instant(dialect: str) -> Callable[[datetime], Any]:
    """How to pass an aware instant straight to the driver (bypassing UTCDateTime)."""
    if dialect == "sqlite":
        return lambda value: value.astimezone(UTC).strftime(SQLITE_INSTANT)
    return lambda value: value.astimezone(UTC)


def real_clock() -> datetime:
    """The one real clock: an aware Europe/London instant."""
    return datetime.now(LONDON)


def _clock() -> datetime:
    return real_clock()  # looked up when called, so a test can replace real_clock


_SERIALS = itertools.count(1)  # numbers the read-only SQLite connections (data_version)


class Write(NamedTuple):
    """An open write transaction: the connection, and the instant read once the lock was
    held (every change in it is decided at and stamped with `now`)."""

    conn: Connection
    now: datetime


class Store:
    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        lock_wait: float | None = None,
    ) -> None:
        self.url = url
        self.clock: Callable[[], datetime] = clock or _clock
        self.lock_wait = LOCK_WAIT if lock_wait is None else lock_wait
        self._local = threading.local()
        # Idle psycopg connections for `query` on PostgreSQL (see `_pg_query`).
        self._pg_lock = threading.Lock()
        self._pg_idle: list[Any] = []

    @property
    def dialect(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else self.engine.dialect.name

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file (None: another database, or an in-memory one). Read on every
        request of the HTTP service, so worked out once per URL (a test may repoint a
        Store that opened nothing yet by setting its url)."""
        kept: tuple[str, str | None] | None = self.__dict__.get("_sqlite_path")
        if kept is not None and kept[0] is self.url:
            return kept[1]
        path: str | None = None
        if self.url.startswith("sqlite"):
            path = self.url.split("///", 1)[-1]
            path = path if path and path != ":memory:" else None
        self.__dict__["_sqlite_path"] = (self.url, path)
        return path

    @cached_property
    def engine(self) -> Engine:
        import sqlalchemy as sa

        if self.url.startswith("sqlite"):
            return _sqlite_engine(self.url, self.lock_wait)
        try:
            return sa.create_engine(self.url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {self.url!r}: {exc}") from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Write]:
        """One write transaction, committed on success: the lock is taken first (SQLite
        BEGIN IMMEDIATE, PostgreSQL the advisory lock), then the clock is read. Waiting
        longer than `lock_wait` seconds for the lock raises StoreBusy, nothing written."""
        import sqlalchemy as sa

        with self.engine.execution_options(purdah_write=True).connect() as conn:
            try:
                transaction = conn.begin()  # SQLite: BEGIN IMMEDIATE (see _sqlite_engine)
                if conn.dialect.name == "postgresql":
                    wait_ms = max(1, int(self.lock_wait * 1000))
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
                    conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
            except sa.exc.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                raise StoreBusy(
                    f"another process held the store's write lock for over "
                    f"{self.lock_wait:g} s: nothing was written; retry (if it persists, "
                    "look for a stuck purdah process)"
                ) from None
            with transaction:
                now = self.clock()
                if now.tzinfo is None:
                    raise ValueError(f"the store's clock gave a naive datetime {now!r}")
                yield Write(conn, now)

    def query(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement with `:name` parameters. Instants given as
        parameters must be aware; instants read back need `as_instant`.

        SQLite: the standard library's sqlite3, one read-only connection per thread.
        PostgreSQL through psycopg 3: a pooled autocommit read-only connection, so the
        statement is its own snapshot with no transaction around it, and psycopg prepares
        it after a few uses; a connection found dropped is replaced and the statement
        retried once. Other drivers: SQLAlchemy."""
        path = self.sqlite_path
        if path is None:
            if self._psycopg_url is not None:
                return self._pg_query(sql, params)
            import sqlalchemy as sa

            with self.read() as conn:
                return [tuple(row) for row in conn.execute(sa.text(sql), dict(params))]
        values = {
            k: v.astimezone(UTC).strftime(SQLITE_INSTANT) if isinstance(v, datetime) else v
            for k, v in params.items()
        }
        return self._sqlite().execute(sql, values).fetchall()

    def data_version(self) -> tuple[int, int] | None:
        """A value that changes whenever anyone commits to the store, for caches that must
        see every change on their next read.

        SQLite: `PRAGMA data_version` on this thread's read-only connection (which never
        writes itself, so every commit is another's), paired with that connection's serial
        number (two connections' values are not comparable). One statement on a kept
        cursor: a few microseconds.

        PostgreSQL (psycopg): (epoch, notifications received) of the store's listener
        (`purdah.changes`), drained without blocking; None until `settled_version` has
        opened it, or while it is lost. On its own it can miss a commit acknowledged a
        moment ago whose notification is still on its way: caches there use
        `settled_version`. Other drivers: None (do not cache)."""
        local = self._local
        cursor: sqlite3.Cursor | None = getattr(local, "version_cursor", None)
        if cursor is None:
            if self.sqlite_path is None:
                signal = self._changes
                return None if signal is None else signal.seen()
            cursor = local.version_cursor = self._sqlite().cursor()
        return local.serial, cursor.execute("PRAGMA data_version").fetchone()[0]

    async def settled_version(self) -> tuple[int, int] | None:
        """`data_version` for a request on the event loop, taken after the request
        arrived and counting every commit acknowledged before that: a cache holding an
        answer made under this value may give it for this request. SQLite: the pragma
        (a few microseconds, on the loop). PostgreSQL (psycopg): an empty query on the
        listener connection, shared with the requests waiting at the same time, awaited
        without blocking the loop (`purdah.changes` says why it is needed). None: no
        signal (another driver, an in-memory SQLite, a lost listener): do not cache."""
        if self.sqlite_path is not None:
            return self.data_version()
        signal = self._changes
        return None if signal is None else await signal.settled()

    @cached_property
    def _changes(self) -> ChangeSignal | None:
        """The listener for commits on PostgreSQL through psycopg (None: another store)."""
        if self._psycopg_url is None:
            return None
        from purdah.changes import ChangeSignal

        return ChangeSignal(self._psycopg_url, _safe_url(self.url))

    def snapshot_cache(self, version: Any = None) -> dict[Any, Any] | None:
        """A dict for this thread that holds only while nothing in the store changes: it is
        emptied whenever the store's version has moved since the last call, so what a
        reader keeps in it is what the store says now. The version is `data_version()`
        unless given (on PostgreSQL, the HTTP service gives `settled_version()`'s; without
        it there is no cache there). None where no such signal exists."""
        if version is None:
            version = self.data_version() if self.sqlite_path is not None else None
        if version is None:
            return None
        local = self._local
        cache: dict[Any, Any] | None = getattr(local, "cache", None)
        if cache is None or local.cache_version != version:
            # Read the version before anything is cached under it: a commit after it makes
            # the next call see a new version, so the cache can only be too cautious.
            cache = local.cache = {}
            local.cache_version = version
        return cache

    @cached_property
    def _psycopg_url(self) -> str | None:
        """The libpq URL for a `postgresql+psycopg://` store (None: another driver)."""
        scheme, sep, rest = self.url.partition("://")
        return f"postgresql://{rest}" if sep and scheme == "postgresql+psycopg" else None

    def _pg_query(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        import psycopg

        statement = _pyformat(sql)
        for attempt in (1, 2):
            conn = self._pg_take()
            try:
                rows: list[tuple[Any, ...]] = conn.execute(statement, params).fetchall()
            except psycopg.OperationalError as exc:
                if not conn.broken:
                    self._pg_give(conn)
                    raise
                # The connection was lost (a server restart, a network cut): the idle ones
                # are likely gone too; once more on a new connection.
                conn.close()
                self._pg_drop_idle()
                if attempt == 2:
                    raise StoreError(
                        f"lost the connection to the store {_safe_url(self.url)} twice: {exc}"
                        " (is the server up? retry)"
                    ) from None
                continue
            except BaseException:
                self._pg_give(conn)
                raise
            self._pg_give(conn)
            return rows
        raise AssertionError("unreachable")

    def _pg_drop_idle(self) -> None:
        with self._pg_lock:
            idle, self._pg_idle = self._pg_idle, []
        for conn in idle:
            conn.close()

    def _pg_take(self) -> Any:
        with self._pg_lock:
            while self._pg_idle:
                conn = self._pg_idle.pop()
                if not conn.closed:
                    return conn
        import psycopg

        assert self._psycopg_url is not None
        try:
            conn = psycopg.connect(self._psycopg_url, autocommit=True)
            conn.execute("SET default_transaction_read_only = on")
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach the store {_safe_url(self.url)}: {exc}") from None
        return conn

    def _pg_give(self, conn: Any) -> None:
        if conn.closed or conn.broken:
            conn.close()
            return
        with self._pg_lock:
            if len(self._pg_idle) < PG_IDLE_READERS:
                self._pg_idle.append(conn)
                return
        conn.close()

    def stream(
        self, sql: str, params: Mapping[str, Any], size: int = 2000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """`query`, read in batches of `size` rows instead of all at once (a server-side
        cursor on PostgreSQL): memory stays flat however many rows the statement returns.
        Consume it in the thread that started it (SQLite connections are per thread)."""
        path = self.sqlite_path
        if path is None:
            import sqlalchemy as sa

            with self.read() as conn:
                result = conn.execution_options(stream_results=True, max_row_buffer=size).execute(
                    sa.text(sql), dict(params)
                )
                while batch := result.fetchmany(size):
                    yield [tuple(row) for row in batch]
            return
        values = {
            k: v.astimezone(UTC).strftime(SQLITE_INSTANT) if isinstance(v, datetime) else v
            for k, v in params.items()
        }
        cursor = self._sqlite().execute(sql, values)
        try:
            while batch := cursor.fetchmany(size):
                yield batch
        finally:
            cursor.close()

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = self.sqlite_path
            assert path is not None
            conn = sqlite3.connect(
                f"file:{path}?mode=ro",
                uri=True,
                timeout=30,
                isolation_level=None,
                check_same_thread=True,
            )
            self._local.conn = conn
            self._local.serial = next(_SERIALS)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.cache = self._local.version_cursor = None
        self._local.cache = None
        if "_changes" in self.__dict__ and self._changes is not None:
            self._changes.close()
        self._pg_drop_idle()
        if "engine" in self.__dict__:
            self.engine.dispose()


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """`:name` parameters as psycopg's `%(name)s` (a literal % doubled); `::type` casts
    are left alone."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    who, at, where = rest.rpartition("@")
    if not sep or not at or ":" not in who:
        return url
    return f"{scheme}://{who.split(':', 1)[0]}:***@{where}"


def _is_busy(exc: Exception) -> bool:
    """A lock wait that ran out: SQLite's busy timeout, PostgreSQL's lock_timeout (55P03)."""
    orig = getattr(exc, "orig", None)
    return "database is locked" in str(orig) or getattr(orig, "sqlstate", None) == "55P03"


def _sqlite_engine(url: str, lock_wait: float = LOCK_WAIT) -> Engine:
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"timeout": lock_wait})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_wait * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("purdah_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_store(
    db: str | None = None,
    *,
    create: bool = False,
    clock: Callable[[], datetime] | None = None,
    lock_wait: float | None = None,
) -> Store:
    """Open the store named by `db` (or $PURDAH_DB, or the default file).

    Without `create`, a SQLite file that does not exist, or a database without
    purdah's schema, is a StoreError telling the user to run `purdah init`.
    """
    store = Store(resolve_url(db), clock=clock, lock_wait=lock_wait)
    path = store.sqlite_path
    if path is not None:
        if not create and not Path(path).exists():
            raise StoreError(
                f"no purdah store at {path}: run 'purdah init' first (or give --db / ${ENV_DB})"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        require_sqlite_file(path)
    if not create:
        _require_schema(store)
    return store


_NO_SCHEMA = "the database {url} has no purdah schema: run 'purdah init'"


_NOT_A_STORE = (
    "{path} is not a purdah store ({what}): give the right --db (or $PURDAH_DB), or "
    "'purdah init --db NEW-FILE' to create one"
)


def require_sqlite_file(path: str) -> None:
    """An existing file given as the store must be a SQLite database (an empty file is one
    not yet initialised). StoreError otherwise, before SQLite is asked to open it."""
    file = Path(path)
    if file.is_dir():
        raise StoreError(_NOT_A_STORE.format(path=path, what="it is a directory"))
    try:
        with file.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot read the store {path}: {exc.strerror}") from None
    if head and head != b"SQLite format 3\x00":
        raise StoreError(_NOT_A_STORE.format(path=path, what="not a SQLite database"))


def _require_schema(store: Store) -> None:
    if store.sqlite_path is not None:
        require_sqlite_file(store.sqlite_path)
        try:
            rows = store.query("SELECT version_num FROM alembic_version", {})
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise StoreError(_NO_SCHEMA.format(url=store.url)) from None
            raise StoreError(f"cannot read the store {store.url}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(_NOT_A_STORE.format(path=store.sqlite_path, what=str(exc))) from None
        version = rows[0][0] if rows else None
    else:
        import sqlalchemy as sa

        try:
            with store.read() as conn:
                version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.ProgrammingError:
            raise StoreError(_NO_SCHEMA.format(url=store.url)) from None
        except sa.exc.OperationalError as exc:
            if "does not exist" in str(exc):
                raise StoreError(_NO_SCHEMA.format(url=store.url)) from None
            raise StoreError(f"cannot reach the store {store.url}: {exc.orig}") from None
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
