"""PostgreSQL's change signal for the caches of the HTTP service: LISTEN purdah_changed.

Migration 0013 puts a statement-level trigger on every table of the store that runs
`pg_notify('purdah_changed', '')`, so every commit that changed anything, by purdah or by
hand in psql, sends a notification as it commits. `ChangeSignal` keeps one autocommit
connection per store listening on that channel and counts the notifications it has
received; a cache keeps an answer with the `(epoch, count)` it was made under and trusts
it only while that pair is unchanged. The epoch grows each time the listener is (re)opened:
what was cached before a lost connection is never trusted again, since notifications sent
while nobody listened are lost.

Why a count of notifications received is not enough on its own, and what `settled` adds.
PostgreSQL tells the listening backends at commit, before the committing client is told
that its COMMIT succeeded; but each listening backend writes the notification to its
socket only when it next runs, so a client that has had its COMMIT acknowledged (a clerk
revoking a token) can send the HTTP service a request before the listener's notification
has reached this process. Draining what has arrived (`seen`) therefore leaves a window of
a scheduler's time slice or so. It is real: on a 2-core machine at load 1.3, 42 of 2,000
commits were not yet on the listener's socket when the committer's acknowledgement came
back, and 26 of 2,000 still a millisecond later; tests/web/test_caches_pg.py's revoke test
fails every time without `settled`. Not acceptable for a revoke or an exemption.

`settled` closes it: it sends an empty query on the listener connection and waits (on
the event loop, without blocking it) for the answer. The committing backend signals the
listening ones before its client is acknowledged, so the signal is pending by the time
our query, sent after the request arrived, is read; a signalled backend sends its
notifications before it answers the next command (PostgreSQL 15's postgres.c processes a
pending notify interrupt before ReadyForQuery; older servers as they read the command);
and the protocol keeps the order of messages. So once the answer to a query sent after
the request arrived is in, every notification of a commit acknowledged before the
request arrived has been counted (tests/web/test_caches_pg.py, and with the measurement
above not one of the 168 late commits was missing after such a query). One query answers
every request waiting when it is sent; requests arriving while it is out wait for the
next, so under load it costs a fraction of a round trip per request, with neither a
thread hop nor a statement that reads a table. What remains is the order of a commit and
a request that overlap (neither acknowledged before the other began), which is any
order's to take.

Anything wrong with the listener (it cannot be opened, its backend was ended, an answer
takes over BARRIER_TIMEOUT) makes `settled` answer None, which means "do not cache": the
caller reads the store as it would without a signal. It is logged as a warning once per
loss; a new listener is tried after RETRY_SECONDS, with a new epoch.

One event loop per store: `settled` answers None on a second loop while the first runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

log = logging.getLogger("purdah.store")

CHANNEL = "purdah_changed"
BARRIER_TIMEOUT = 2.0  # seconds an empty query on the listener may take before it is dropped
RETRY_SECONDS = 5.0  # a lost listener is reopened no sooner than this

Version = tuple[int, int]  # (epoch, notifications counted in it)

# The tables of the schema that lack the trigger (tests/test_change_signal.py checks the
# same of the migrations; this checks it of the database the service was given).
_UNWATCHED_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid
                  AND t.tgname = 'purdah_changed' AND t.tgenabled = 'O')
ORDER BY c.relname
"""


class _ListenerRefused(Exception):
    """The listener cannot be trusted to hear every commit."""


class ChangeSignal:
    def __init__(self, conninfo: str, where: str) -> None:
        self._conninfo = conninfo
        self._where = where  # the store's URL without its password, for messages
        self._lock = threading.Lock()  # guards the connection and the count
        self._conn: Any = None  # psycopg.Connection while listening
        self._pgconn: Any = None
        self._fd = -1  # its socket, as the loop knows it (libpq forgets it when it is lost)
        self._epoch = 0
        self._seen = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = False
        self._retry_at = 0.0
        self._lost = False  # warned of a loss not yet repaired
        self._in_flight: list[asyncio.Future[Version | None]] | None = None
        self._waiting: list[asyncio.Future[Version | None]] = []
        self._timer: asyncio.TimerHandle | None = None

    # --- what has arrived --------------------------------------------------------

    def seen(self) -> Version | None:
        """The notifications that have reached this process, drained without blocking or
        a round trip (any thread). Not a barrier: see the module's docstring. None when
        not listening."""
        with self._lock:
            if self._pgconn is None:
                return None
            try:
                self._drain()
            except Exception as exc:
                self._schedule_loss(f"reading notifications failed: {exc}")
                return None
            if self._in_flight is not None and self._loop is not None:
                # What was read may hold the answer the loop waits for, and the socket
                # will not wake it for that again: let it look.
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    self._loop.call_soon_threadsafe(self._readable)
            return self._epoch, self._seen

    def _drain(self) -> None:
        """Read what the socket holds and count the notifications (lock held)."""
        pgconn = self._pgconn
        pgconn.consume_input()
        while pgconn.notifies() is not None:
            self._seen += 1

    # --- the barrier -------------------------------------------------------------

    async def settled(self) -> Version | None:
        """The version once every notification of a commit acknowledged before this call
        has been counted (one empty query on the listener, shared with concurrent
        callers). None: no signal now (do not cache). On the event loop only."""
        loop = asyncio.get_running_loop()
        listening = self._pgconn is not None and self._loop is loop
        if not listening and not await self._open(loop):
            return None
        future: asyncio.Future[Version | None] = loop.create_future()
        self._waiting.append(future)
        if self._in_flight is None:
            self._send()
        return await future

    def _send(self) -> None:
        """Send the empty query that answers everyone waiting now (on the loop)."""
        waiting, self._waiting = self._waiting, []
        with self._lock:
            # In flight before it is sent: `seen` on another thread may read the answer
            # off the socket as soon as the lock is free, and only wakes the loop for it
            # if it knows a query is out (otherwise the answer is consumed unseen and the
            # barrier waits BARRIER_TIMEOUT for a wake that never comes).
            self._in_flight = waiting
            try:
                self._pgconn.send_query(b"")
                pending = self._pgconn.flush()
            except Exception as exc:
                self._lose(f"sending a query failed: {exc}")
                return
        assert self._loop is not None
        if pending:  # a few bytes that did not fit in the socket's buffer: send when it can
            self._loop.add_writer(self._fd, self._writable)
        self._timer = self._loop.call_later(BARRIER_TIMEOUT, self._too_slow)

    def _writable(self) -> None:
        with self._lock:
            if self._pgconn is None:
                return
            try:
                pending = self._pgconn.flush()
            except Exception as exc:
                self._lose(f"sending a query failed: {exc}")
                return
            if not pending:
                assert self._loop is not None
                self._loop.remove_writer(self._fd)

    def _too_slow(self) -> None:
        self._timer = None
        waited = self._in_flight
        self._readable()  # an answer already read off the socket but never woken for
        if waited is not None and self._in_flight is not waited:
            log.warning(
                "the listener for changes to the store %s had answered, but the service "
                "was not woken for it: %d request(s) waited %g s (a bug; please report it)",
                self._where,
                len(waited),
                BARRIER_TIMEOUT,
            )
            return
        with self._lock:
            if self._in_flight is not None and self._pgconn is not None:
                self._lose(f"the listener did not answer within {BARRIER_TIMEOUT:g} s")

    def _readable(self) -> None:
        """The listener's socket has data: notifications, or the answer (on the loop)."""
        import psycopg

        done = False
        with self._lock:
            if self._pgconn is None:
                return
            pgconn = self._pgconn
            try:
                pgconn.consume_input()
                while self._in_flight is not None and not pgconn.is_busy():
                    result = pgconn.get_result()
                    if result is None:
                        done = True
                        break
                    if result.status != psycopg.pq.ExecStatus.EMPTY_QUERY:
                        message = pgconn.get_error_message() or str(result.status)
                        raise psycopg.OperationalError(message)
                self._drain()
                if pgconn.status != psycopg.pq.ConnStatus.OK:
                    raise psycopg.OperationalError("the connection is closed")
            except Exception as exc:
                self._lose(f"the listener failed: {exc}")
                return
            version = self._epoch, self._seen
        if done:
            answered, self._in_flight = self._in_flight or [], None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            for future in answered:
                if not future.done():
                    future.set_result(version)
            if self._waiting:
                self._send()

    # --- opening and losing the listener -----------------------------------------

    async def _open(self, loop: asyncio.AbstractEventLoop) -> bool:
        if self._opening or time.monotonic() < self._retry_at:
            return False
        if self._loop is not None and self._loop is not loop:
            if not self._loop.is_closed():
                return False  # another loop listens: see the module's docstring
            self.close()
        self._opening = True
        try:
            import anyio.to_thread

            try:
                conn = await anyio.to_thread.run_sync(self._connect)
            except Exception as exc:
                self._retry_at = time.monotonic() + RETRY_SECONDS
                if not self._lost:
                    self._lost = True
                    log.warning(
                        "cannot listen for changes to the store %s (%s): its answers are "
                        "not cached (every request reads the store); retrying every %g s",
                        self._where,
                        exc,
                        RETRY_SECONDS,
                    )
                return False
        finally:
            self._opening = False
        with self._lock:
            self._conn, self._pgconn, self._fd = conn, conn.pgconn, conn.pgconn.socket
            self._epoch += 1
            self._seen = 0
            self._loop = loop
        loop.add_reader(self._fd, self._readable)
        if self._lost:
            self._lost = False
            log.warning("listening for changes to the store %s again: caching resumed", self._where)
        return True

    def _connect(self) -> Any:
        """A connection listening on CHANNEL, once it has shown it can be trusted: it is
        the server's backend itself (not a pooler's, which would listen on one server
        connection and ask on another), it hears its own notification, and every table
        of the schema has migration 0013's trigger. Otherwise an error, and no caching."""
        import psycopg

        conn = psycopg.connect(self._conninfo, autocommit=True)
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            if row is None or row[0] != conn.pgconn.backend_pid:
                raise _ListenerRefused(
                    "the connection is not one backend's (a pooler in between?): "
                    "LISTEN needs a direct connection"
                )
            unwatched = [name for (name,) in conn.execute(_UNWATCHED_TABLES).fetchall()]
            if unwatched:
                raise _ListenerRefused(
                    "tables without the purdah_changed trigger (run 'purdah init' to "
                    f"migrate): {', '.join(unwatched)}"
                )
            conn.execute("SELECT pg_notify(%s, 'probe')", (CHANNEL,))
            if not any(True for _ in conn.notifies(timeout=5.0, stop_after=1)):
                raise _ListenerRefused("the listener did not hear its own notification")
            conn.pgconn.nonblocking = 1
        except BaseException:
            conn.close()
            raise
        return conn

    def _schedule_loss(self, reason: str) -> None:
        """`_lose` from any thread (lock held): done on the loop, which owns the reader."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._lose(reason, remove=False)
            return
        try:
            in_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            in_loop = False
        if in_loop:
            self._lose(reason)
        else:
            # Until the loop drops it, the epoch moves on so nothing cached is trusted.
            self._epoch += 1
            try:
                loop.call_soon_threadsafe(self._lose_later, reason)
            except RuntimeError:  # the loop closed meanwhile: nothing of it to remove
                self._lose(reason, remove=False)

    def _lose_later(self, reason: str) -> None:
        with self._lock:
            if self._pgconn is not None:
                self._lose(reason)

    def _lose(self, reason: str, *, remove: bool = True) -> None:
        """Drop the listener (lock held): everyone waiting is told None (do not cache)."""
        if not self._lost:
            self._lost = True
            log.warning(
                "lost the listener for changes to the store %s (%s): its answers are not "
                "cached until it is back (retried after %g s)",
                self._where,
                reason,
                RETRY_SECONDS,
            )
        self._retry_at = time.monotonic() + RETRY_SECONDS
        self._drop(remove=remove)
        waiting = (self._in_flight or []) + self._waiting
        self._in_flight, self._waiting = None, []
        for future in waiting:
            if not future.done():
                future.set_result(None)

    def _drop(self, *, remove: bool = True) -> None:
        """Close the listener (lock held). `remove`: on the loop's own thread, so its
        reader can be removed here; otherwise the loop is closed or removes it itself."""
        conn, loop, fd = self._conn, self._loop, self._fd
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._conn = self._pgconn = None
        self._fd = -1
        self._epoch += 1  # what was counted so far belongs to a listener now gone
        if conn is None:
            return
        if loop is None or loop.is_closed() or fd < 0:
            conn.close()
        elif remove:
            loop.remove_reader(fd)
            loop.remove_writer(fd)
            conn.close()
        else:

            def unregister() -> None:
                loop.remove_reader(fd)
                loop.remove_writer(fd)
                conn.close()

            try:
                loop.call_soon_threadsafe(unregister)
            except RuntimeError:  # closed meanwhile
                conn.close()

    def close(self) -> None:
        """Stop listening (any thread)."""
        with self._lock:
            loop = self._loop
            try:
                here = loop is not None and asyncio.get_running_loop() is loop
            except RuntimeError:
                here = False
            self._drop(remove=here)
            self._loop = None
