"""The thin database layer, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from fleetward.storage import migrate
from fleetward.storage.db import (
    DatabaseError,
    IntegrityError,
    PostgresDatabase,
    SqliteDatabase,
    _to_pg,
    open_database,
)


@pytest_asyncio.fixture(loop_scope="function")
async def db(database_url: str) -> AsyncIterator[SqliteDatabase | PostgresDatabase]:
    migrate.upgrade(database_url)
    d = await open_database(database_url)
    yield d
    await d.close()


def _acct() -> str:
    return str(uuid.uuid4().int)[:12]


async def _insert_account(conn: Any, acct: str, name: str = "n") -> int:
    return int(
        await conn.execute("INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)", acct, name, 1.5)
    )


async def test_migrations_are_idempotent(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)
    d = await open_database(database_url)
    try:
        assert (await d.fetchone("SELECT COUNT(*) FROM accounts"))[0] == 0
    finally:
        await d.close()


async def test_fetch_execute_executemany(db: Any) -> None:
    a, b, c, e = _acct(), _acct(), _acct(), _acct()
    async with db.write() as conn:
        assert await _insert_account(conn, a, "alpha") == 1
        await conn.executemany(
            "INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)",
            [(b, "beta", 2.0), (c, "gamma", 3.0), (e, "beta", 4.25)],
        )
    row = await db.fetchone("SELECT id, name, created FROM accounts WHERE id = ?", a)
    assert row is not None
    assert (row[0], row["name"], row["created"]) == (a, "alpha", 1.5)
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", "nope") is None
    rows = await db.fetchall("SELECT id, created FROM accounts WHERE name = ? ORDER BY created", "beta")
    assert [(r["id"], r[1]) for r in rows] == [(b, 2.0), (e, 4.25)]
    assert await db.fetchall("SELECT id FROM accounts WHERE name = ?", "none") == []
    async with db.write() as conn:
        assert await conn.execute("UPDATE accounts SET name = ? WHERE name = ?", "delta", "beta") == 2
        assert await conn.execute("DELETE FROM accounts WHERE id = ?", "nope") == 0
    async with db.read() as conn:
        assert len(await conn.fetchall("SELECT id FROM accounts WHERE name = ?", "delta")) == 2


async def test_many_placeholders_rewritten(db: Any) -> None:
    acct = _acct()
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO service_settings (account, region, setting_id, value, modified, modified_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            acct,
            "us-east-1",
            "/s",
            "v",
            1.0,
            "me",
        )
    row = await db.fetchone(
        "SELECT value FROM service_settings WHERE account = ? AND region = ? AND setting_id = ? AND modified = ?",
        acct,
        "us-east-1",
        "/s",
        1.0,
    )
    assert row is not None and row["value"] == "v"


def test_to_pg_rewrites_question_marks() -> None:
    assert (
        _to_pg("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
        == "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
    )
    assert _to_pg("SELECT 1") == "SELECT 1"
    # Cached per statement text: the same object comes back.
    sql = "UPDATE t SET a = ? WHERE b = ?"
    assert _to_pg(sql) is _to_pg(sql)


async def test_commit_is_visible(db: Any) -> None:
    acct = _acct()
    async with db.write() as conn:
        await _insert_account(conn, acct)
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is not None


async def test_rollback_on_exception_persists_nothing(db: Any) -> None:
    acct = _acct()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.write() as conn:
            await _insert_account(conn, acct)
            await conn.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)", f"l-{acct}", "h", 1.0
            )
            assert await conn.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is not None
            raise Boom
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is None
    assert await db.fetchone("SELECT name FROM leases WHERE name = ?", f"l-{acct}") is None
    # The connection is usable afterwards.
    async with db.write() as conn:
        await _insert_account(conn, acct)
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is not None


async def test_rollback_on_cancellation(db: Any) -> None:
    acct = _acct()
    entered = asyncio.Event()

    async def writer() -> None:
        async with db.write() as conn:
            await _insert_account(conn, acct)
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is None
    async with db.write() as conn:  # the lock / connection was released
        await _insert_account(conn, acct)


async def test_unique_violation_is_integrity_error(db: Any) -> None:
    acct = _acct()
    async with db.write() as conn:
        await _insert_account(conn, acct)
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await _insert_account(conn, acct)
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.executemany(
                "INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)",
                [(_acct(), "x", 1.0), (acct, "y", 1.0)],
            )
    # INSERT ... RETURNING through fetchone and fetchall raises the same.
    for method in ("fetchone", "fetchall"):
        with pytest.raises(IntegrityError):
            async with db.write() as conn:
                await getattr(conn, method)(
                    "INSERT INTO accounts (id, name, created) VALUES (?, ?, ?) RETURNING id", acct, "z", 1.0
                )
    # Nothing of the failed transactions persisted.
    rows = await db.fetchall("SELECT name FROM accounts WHERE id = ?", acct)
    assert [r["name"] for r in rows] == ["n"]
    assert isinstance(IntegrityError("x"), DatabaseError)


async def test_not_null_violation_is_integrity_error(db: Any) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)", _acct(), None, 1.0
            )


async def test_bad_sql_is_database_error(db: Any) -> None:
    with pytest.raises(DatabaseError):
        await db.fetchone("SELECT nope FROM accounts")
    with pytest.raises(DatabaseError):
        await db.fetchall("SELECT * FROM no_such_table")
    with pytest.raises(DatabaseError):
        async with db.write() as conn:
            await conn.execute("UPDATE no_such_table SET a = ?", 1)


async def test_returning_and_upsert(db: Any) -> None:
    acct = _acct()
    async with db.write() as conn:
        first = await conn.fetchone(
            "INSERT INTO outbox (account, region, source, detail_type, resources, detail, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            acct,
            "r",
            "s",
            "t",
            "[]",
            "{}",
            1.0,
        )
        second = await conn.fetchone(
            "INSERT INTO outbox (account, region, source, detail_type, resources, detail, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id, created",
            acct,
            "r",
            "s",
            "t",
            "[]",
            "{}",
            2.0,
        )
    assert isinstance(first["id"], int) and second["id"] > first["id"] and second["created"] == 2.0

    upsert = (
        "INSERT INTO service_settings (account, region, setting_id, value, modified, modified_by)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (account, region, setting_id) DO UPDATE SET value = excluded.value,"
        " modified = excluded.modified RETURNING value, modified"
    )
    async with db.write() as conn:
        r1 = await conn.fetchone(upsert, acct, "r", "/k", "one", 1.0, "me")
        r2 = await conn.fetchone(upsert, acct, "r", "/k", "two", 2.0, "me")
    assert (r1["value"], r2["value"], r2["modified"]) == ("one", "two", 2.0)
    rows = await db.fetchall("SELECT value FROM service_settings WHERE account = ?", acct)
    assert [r["value"] for r in rows] == ["two"]
    async with db.write() as conn:
        n = await conn.execute(
            "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            f"l-{acct}",
            "a",
            1.0,
        )
        m = await conn.execute(
            "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            f"l-{acct}",
            "b",
            1.0,
        )
    assert (n, m) == (1, 0)


async def test_reader_sees_committed_data_only(db: Any) -> None:
    acct = _acct()
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.write() as conn:
            await _insert_account(conn, acct)
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is None
    async with db.read() as conn:
        assert await conn.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is None
    release.set()
    await task
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", acct) is not None


async def test_concurrent_atomic_updates(db: Any) -> None:
    name = f"ctr-{uuid.uuid4().hex}"
    async with db.write() as conn:
        await conn.execute("INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)", name, "h", 0.0)

    async def bump(n: int) -> None:
        for _ in range(n):
            async with db.write() as conn:
                await conn.execute("UPDATE leases SET expires = expires + 1 WHERE name = ?", name)

    await asyncio.gather(bump(20), bump(20))
    row = await db.fetchone("SELECT expires FROM leases WHERE name = ?", name)
    assert row["expires"] == 40.0


async def test_sqlite_write_transactions_serialize(tmp_path: Any) -> None:
    """Read-modify-write spanning awaits: the writer lock keeps the other task out."""
    url = f"sqlite:///{tmp_path / 'serial.db'}"
    migrate.upgrade(url)
    db = await open_database(url)
    try:
        async with db.write() as conn:
            await conn.execute("INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)", "c", "h", 0.0)
        order: list[str] = []

        async def rmw(tag: str, n: int) -> None:
            for i in range(n):
                async with db.write() as conn:
                    order.append(f"{tag}{i}<")
                    row = await conn.fetchone("SELECT expires FROM leases WHERE name = ?", "c")
                    await asyncio.sleep(0)  # let the other task run: it must wait for the lock
                    await conn.execute("UPDATE leases SET expires = ? WHERE name = ?", row[0] + 1, "c")
                    order.append(f"{tag}{i}>")

        await asyncio.gather(rmw("a", 25), rmw("b", 25))
        row = await db.fetchone("SELECT expires FROM leases WHERE name = ?", "c")
        assert row[0] == 50.0
        # Transactions never interleave: every open is followed by its own close.
        for j in range(0, len(order), 2):
            assert order[j][:-1] == order[j + 1][:-1]
    finally:
        await db.close()


async def test_sqlite_pragmas(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate.upgrade(url)
    normal = await open_database(url)
    full = await open_database(url, synchronous="FULL")
    try:
        assert isinstance(normal, SqliteDatabase)
        assert (await normal.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await normal.fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL
        assert (await full.fetchone("PRAGMA synchronous"))[0] == 2  # FULL
        assert (await normal.fetchone("PRAGMA foreign_keys"))[0] == 1
    finally:
        await normal.close()
        await full.close()


async def test_unsupported_url() -> None:
    with pytest.raises(DatabaseError, match="unsupported"):
        await open_database("mysql://x")


# -- SQLite write batches (group commit) -----------------------------------------


@pytest_asyncio.fixture(loop_scope="function")
async def sqlite_db(tmp_path: Any) -> AsyncIterator[SqliteDatabase]:
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    migrate.upgrade(url)
    d = await open_database(url)
    assert isinstance(d, SqliteDatabase)
    yield d
    await d.close()


async def test_concurrent_writes_share_one_commit_and_a_failure_rolls_back_alone(
    sqlite_db: SqliteDatabase,
) -> None:
    db = sqlite_db
    commits = 0
    real = db._commit_batch

    def counting() -> None:
        nonlocal commits
        commits += 1
        real()

    db._commit_batch = counting  # type: ignore[method-assign]
    ids = [_acct() for _ in range(8)]

    async def put(i: int) -> str:
        async with db.write() as conn:
            await _insert_account(conn, ids[i])
            await asyncio.sleep(0)  # a block may span awaits
            if i == 3:
                raise ValueError("boom")
        # Returned: the batch has committed, a fresh reader sees the row.
        assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", ids[i]) is not None
        return ids[i]

    results = await asyncio.gather(*(put(i) for i in range(8)), return_exceptions=True)
    assert isinstance(results[3], ValueError)
    assert [r for i, r in enumerate(results) if i != 3] == [x for i, x in enumerate(ids) if i != 3]
    assert commits < 8  # batched, not one COMMIT per block
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", ids[3]) is None
    rows = await db.fetchall("SELECT id FROM accounts")
    assert len(rows) == 7


async def test_integrity_error_in_a_batch_keeps_the_others(sqlite_db: SqliteDatabase) -> None:
    db = sqlite_db
    a, b = _acct(), _acct()

    async def put(acct: str) -> None:
        async with db.write() as conn:
            await _insert_account(conn, acct)

    results = await asyncio.gather(put(a), put(a), put(b), return_exceptions=True)
    assert [type(r) for r in results].count(IntegrityError) == 1
    assert len(await db.fetchall("SELECT id FROM accounts WHERE id IN (?, ?)", a, b)) == 2


async def test_a_block_cancelled_while_queued_does_not_hold_the_batch_open(
    sqlite_db: SqliteDatabase,
) -> None:
    db = sqlite_db
    first_in = asyncio.Event()
    release = asyncio.Event()
    a, b = _acct(), _acct()

    async def slow() -> None:
        async with db.write() as conn:
            await _insert_account(conn, a)
            first_in.set()
            await release.wait()

    async def queued() -> None:
        async with db.write() as conn:
            await _insert_account(conn, b)

    t1 = asyncio.ensure_future(slow())
    await first_in.wait()
    t2 = asyncio.ensure_future(queued())
    await asyncio.sleep(0.01)
    t2.cancel()
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(t1, 5)  # committed although a queued block was counted when it finished
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", a) is not None
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", b) is None
    async with db.write() as conn:  # the database is still usable
        await _insert_account(conn, b)
    assert await db.fetchone("SELECT id FROM accounts WHERE id = ?", b) is not None


# -- Fair turns at SQLite's write lock between processes -------------------------

_WAITER = """
import sys, time
from pathlib import Path
from fleetward.storage.db import _WriteTurns
t = _WriteTurns(Path(sys.argv[1]))
print(t.slot, flush=True)
for line in sys.stdin:
    t.mark(time.monotonic() if line.strip() == "wait" else 0.0)
    print("ok", flush=True)
"""


class _OtherProcess:
    """Another process on the same database's turn board, driven line by line."""

    def __init__(self, path: Any) -> None:
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WAITER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.slot = int(self.proc.stdout.readline())

    def say(self, what: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.communicate()


async def test_a_process_about_to_write_lets_a_waiting_process_go_first(tmp_path: Any) -> None:
    import time

    from fleetward.storage.db import _YIELD_MAX

    path = tmp_path / "turns.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = await open_database(url)
    assert isinstance(db, SqliteDatabase)
    other = _OtherProcess(path)
    try:
        assert other.slot != db._turns.slot  # each process has its own slot
        assert not db._turns.others_waiting()
        other.say("wait")
        assert db._turns.others_waiting()
        t0 = time.monotonic()
        async with db.write() as conn:  # the waiter never takes the lock: we go after the yield
            await _insert_account(conn, _acct())
        assert time.monotonic() - t0 >= _YIELD_MAX
        other.say("done")
        assert not db._turns.others_waiting()
        # A dead process's slot is free again (the kernel drops its lock).
        slot = other.slot
        other.kill()
        other = _OtherProcess(path)
        assert other.slot == slot
    finally:
        other.kill()
        await db.close()


_MIGRATE = "import sys; from fleetward.storage import migrate; migrate.upgrade(sys.argv[1])"


def test_processes_starting_at_once_migrate_once(tmp_path: Any) -> None:
    """Worker processes (or replicas) that start together on a fresh database
    all come up: one migrates, the others wait for it and find nothing to do."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    procs = [
        subprocess.Popen([sys.executable, "-c", _MIGRATE, url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
