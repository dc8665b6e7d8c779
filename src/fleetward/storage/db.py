"""The thin database layer every request runs on.

SQLAlchemy and Alembic own the schema (``storage/migrations``); requests
run hand-written, portable SQL on the raw drivers: ``sqlite3`` called in
the event loop (a point read costs ~30 µs; aiosqlite and SQLAlchemy's async
layer cost 2-40x more) and ``asyncpg`` for PostgreSQL. Statements use ``?``
placeholders; the PostgreSQL backend rewrites them to ``$n`` once per
statement text.

SQLite: one writer connection guarded by an asyncio lock (a write
transaction may span awaits; the lock keeps others out of it) opened with
``BEGIN IMMEDIATE``, and one reader connection in autocommit mode (WAL lets
it read while a write is open). Writes are group-committed: a ``write()``
block that finds others queued behind it leaves the transaction open for
them, each block runs in its own SAVEPOINT (a failing one rolls back alone),
and the last of the batch commits; every block returns only once its batch
has committed, so nothing is acknowledged before it is durable. One COMMIT
(the WAL append of the pages all of them touched) and one hand-over of
SQLite's write lock between worker processes serve the whole batch. SQLite
hands its lock to whoever asks first after a COMMIT, which is always the
process that just committed; :class:`_WriteTurns` makes the hand-over fair.
PostgreSQL: a connection pool; each write transaction takes its own
connection.
"""

from __future__ import annotations

import asyncio
import fcntl
import mmap
import os
import re
import sqlite3
import struct
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Conn", "Database", "DatabaseError", "IntegrityError", "open_database"]


class DatabaseError(Exception):
    """A storage failure (translated at the service boundary)."""


class IntegrityError(DatabaseError):
    """A unique, foreign-key, not-null or check constraint was violated.

    On PostgreSQL the failed statement aborts the whole transaction: catch it
    only to raise (e.g. "already exists"); further statements in the same
    ``write()`` block fail until it ends.
    """


Row = Any  # sqlite3.Row or asyncpg.Record: both index by position and name


class Conn(Protocol):
    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    dialect: str
    url: str

    def read(self) -> Any: ...  # async context manager yielding a Conn
    def write(self) -> Any: ...  # async context manager yielding a Conn inside one transaction
    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...
    async def close(self) -> None: ...


# ---------------------------------------------------------------- SQLite


class _SqliteConn:
    __slots__ = ("_c",)

    def __init__(self, c: sqlite3.Connection) -> None:
        self._c = c

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        try:
            return self._c.execute(sql, args).fetchone()
        except sqlite3.IntegrityError as e:
            raise IntegrityError(str(e)) from e
        except sqlite3.Error as e:
            raise DatabaseError(str(e)) from e

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        try:
            return self._c.execute(sql, args).fetchall()
        except sqlite3.IntegrityError as e:
            raise IntegrityError(str(e)) from e
        except sqlite3.Error as e:
            raise DatabaseError(str(e)) from e

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return self._c.execute(sql, args).rowcount
        except sqlite3.IntegrityError as e:
            raise IntegrityError(str(e)) from e
        except sqlite3.Error as e:
            raise DatabaseError(str(e)) from e

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._c.executemany(sql, rows)
        except sqlite3.IntegrityError as e:
            raise IntegrityError(str(e)) from e
        except sqlite3.Error as e:
            raise DatabaseError(str(e)) from e


# Seconds between WAL checkpoints, and the longest wait for the write lock.
_CHECKPOINT_INTERVAL = 0.5
_LOCK_WAIT = 5.0
# A write batch commits after this many blocks or seconds, whichever comes
# first, so the other worker processes get SQLite's write lock in turn.
_BATCH_MAX = 64
_BATCH_SECONDS = 0.005


class _WriteTurns:
    """Fair turns at SQLite's write lock between the processes sharing a database.

    A shared board (``<database>-turns``, one slot per process, claimed with a
    byte-range lock that the kernel releases when the process dies) where a
    process that waits for the write lock writes since when it waits. A process
    about to begin a new batch lets a waiting one go first (for at most
    :data:`_YIELD_MAX`), so a busy worker cannot starve another one between
    its back-to-back batches. Without a free slot the process simply takes no
    part in the turns (the old first-come behaviour).
    """

    SLOTS = 64
    _FMT = struct.Struct(f"{SLOTS}d")

    def __init__(self, path: Path) -> None:
        self._fd = os.open(f"{path}-turns", os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < self._FMT.size:
            os.ftruncate(self._fd, self._FMT.size)
        self._board = mmap.mmap(self._fd, self._FMT.size)
        self.slot: int | None = None
        for i in range(self.SLOTS):
            try:  # the lock byte lies past the board: it never blocks its reads and writes
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self._FMT.size + i)
            except OSError:
                continue
            self.slot = i
            self.mark(0.0)
            break

    def mark(self, since: float) -> None:
        """Say this process waits since ``since`` (``time.monotonic()``), or not at all (0)."""
        if self.slot is not None:
            struct.pack_into("d", self._board, self.slot * 8, since)

    def others_waiting(self) -> bool:
        """Whether another live process has been waiting for the write lock (recently)."""
        if self.slot is None:
            return False
        now = time.monotonic()
        return any(
            0.0 < since and now - since < _LOCK_WAIT
            for i, since in enumerate(self._FMT.unpack_from(self._board))
            if i != self.slot
        )

    def close(self) -> None:
        self.mark(0.0)
        self._board.close()
        os.close(self._fd)  # releases the slot's lock


# The longest a process about to write lets a waiting one go first.
_YIELD_MAX = 0.003


class SqliteDatabase:
    """SQLite in WAL mode; ``synchronous`` is NORMAL (survives a process
    crash) or FULL (also survives power loss)."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self.url = f"sqlite:///{path}"
        self.path = path
        self._writer = self._connect(path, synchronous, busy_ms=0)
        self._reader = self._connect(path, synchronous, busy_ms=5000)
        self._lock = asyncio.Lock()
        self._queued = 0  # write() blocks entered and not yet finished
        self._batch: asyncio.Future[None] | None = None  # the open batch's commit
        self._batch_size = 0
        self._batch_start = 0.0
        self._w = _SqliteConn(self._writer)
        self._r = _SqliteConn(self._reader)
        self._turns = _WriteTurns(path)
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(synchronous,), name="sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    @staticmethod
    def _connect(path: Path, synchronous: str, *, busy_ms: int) -> sqlite3.Connection:
        c = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=512)
        c.row_factory = sqlite3.Row
        c.execute("PRAGMA journal_mode=WAL")
        c.execute(f"PRAGMA synchronous={synchronous}")
        c.execute(f"PRAGMA busy_timeout={busy_ms}")
        c.execute("PRAGMA foreign_keys=ON")
        # Checkpoints (the only fsyncs under synchronous=NORMAL) run on the
        # checkpointer thread, never inside a commit on the event loop.
        c.execute("PRAGMA wal_autocheckpoint=0")
        return c

    def _checkpoint_loop(self, synchronous: str) -> None:
        conn = self._connect(self.path, synchronous, busy_ms=0)
        try:
            while not self._stop.wait(_CHECKPOINT_INTERVAL):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    continue  # another process is checkpointing; try again later
        finally:
            conn.close()

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE without blocking the event loop while another
        process holds SQLite's write lock: retry with short async sleeps,
        after letting a process that is already waiting go first."""
        start = time.monotonic()
        while self._turns.others_waiting() and time.monotonic() - start < _YIELD_MAX:
            await asyncio.sleep(0.0002)
        delay = 0.0001
        deadline = time.monotonic() + _LOCK_WAIT
        waiting = False
        try:
            while True:
                try:
                    self._writer.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as e:
                    if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > deadline:
                        raise DatabaseError(str(e)) from e
                except sqlite3.Error as e:
                    raise DatabaseError(str(e)) from e
                if not waiting:
                    self._turns.mark(time.monotonic())
                    waiting = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.0005)
        finally:
            if waiting:
                self._turns.mark(0.0)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        yield self._r

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """One write transaction (a SAVEPOINT of the open batch); returns once
        it has committed. Raises DatabaseError if the batch's COMMIT fails."""
        self._queued += 1
        done = False  # whether this block has stopped counting as queued
        try:
            async with self._lock:
                if self._batch is None:
                    await self._begin()
                    self._batch = asyncio.get_running_loop().create_future()
                    self._batch_size, self._batch_start = 0, time.monotonic()
                batch = self._batch
                self._batch_size += 1
                self._writer.execute("SAVEPOINT w")
                try:
                    yield self._w
                except BaseException:
                    self._writer.execute("ROLLBACK TO w")
                    self._writer.execute("RELEASE w")
                    raise
                else:
                    self._writer.execute("RELEASE w")
                finally:
                    self._queued -= 1
                    done = True
                    if (
                        self._queued == 0
                        or self._batch_size >= _BATCH_MAX
                        or time.monotonic() - self._batch_start > _BATCH_SECONDS
                    ):
                        self._commit_batch()
        finally:
            if not done:  # cancelled or failed before its block ran
                self._queued -= 1
                if self._queued == 0 and not self._lock.locked():
                    self._commit_batch()
        await asyncio.shield(batch)

    def _commit_batch(self) -> None:
        """COMMIT the open batch and wake its blocks (with the error if it failed)."""
        batch, self._batch = self._batch, None
        if batch is None:
            return
        try:
            self._writer.execute("COMMIT")
        except sqlite3.Error as e:
            self._writer.execute("ROLLBACK")
            batch.set_exception(DatabaseError(str(e)))
            batch.exception()  # retrieved: every block gets it through shield
            return
        batch.set_result(None)

    def in_transaction(self) -> bool:
        """Whether this process's write transaction is open (the writer lock is held)."""
        return self._writer.in_transaction

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._r.fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return await self._r.fetchall(sql, *args)

    async def close(self) -> None:
        self._stop.set()
        self._checkpointer.join(timeout=5)
        self._reader.close()
        self._writer.close()
        self._turns.close()


# ------------------------------------------------------------ PostgreSQL

_QMARK = re.compile(r"\?")
_pg_sql: dict[str, str] = {}


def _to_pg(sql: str) -> str:
    out = _pg_sql.get(sql)
    if out is None:
        n = iter(range(1, 10_000))
        out = _QMARK.sub(lambda _m: f"${next(n)}", sql)
        _pg_sql[sql] = out
    return out


class _PgConn:
    __slots__ = ("_c",)

    def __init__(self, c: Any) -> None:
        self._c = c

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        import asyncpg

        try:
            return await self._c.fetchrow(_to_pg(sql), *args)
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(str(e)) from e
        except asyncpg.PostgresError as e:
            raise DatabaseError(str(e)) from e

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        import asyncpg

        try:
            return list(await self._c.fetch(_to_pg(sql), *args))
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(str(e)) from e
        except asyncpg.PostgresError as e:
            raise DatabaseError(str(e)) from e

    async def execute(self, sql: str, *args: Any) -> int:
        import asyncpg

        try:
            status = await self._c.execute(_to_pg(sql), *args)
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(str(e)) from e
        except asyncpg.PostgresError as e:
            raise DatabaseError(str(e)) from e
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        import asyncpg

        try:
            await self._c.executemany(_to_pg(sql), rows)
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(str(e)) from e
        except asyncpg.PostgresError as e:
            raise DatabaseError(str(e)) from e


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, pool: Any) -> None:
        self.url = url
        self._pool = pool

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 2, max_size: int = 16) -> PostgresDatabase:
        import asyncpg

        dsn = url.replace("postgresql+psycopg://", "postgresql://").replace(
            "postgresql+asyncpg://", "postgresql://"
        )
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        return cls(url, pool)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        async with self._pool.acquire() as c:
            yield _PgConn(c)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        async with self._pool.acquire() as c, c.transaction():
            yield _PgConn(c)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        async with self.read() as c:
            return await c.fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        async with self.read() as c:
            return await c.fetchall(sql, *args)

    async def close(self) -> None:
        await self._pool.close()


async def open_database(url: str, *, synchronous: str = "NORMAL") -> SqliteDatabase | PostgresDatabase:
    """Open the database named by ``url`` (``sqlite:///path`` or ``postgresql://...``).

    Migrations must have run first (``storage.migrate.upgrade``).
    """
    if url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url[len("sqlite:///") :]), synchronous=synchronous)
    if url.startswith("postgresql"):
        return await PostgresDatabase.connect(url)
    raise DatabaseError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
