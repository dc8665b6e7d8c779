"""The durable audit writer: group commit of reads, audit or fail."""

import asyncio
from pathlib import Path

import pytest

from fleetward.audit.writer import AuditUnavailable, AuditWriter
from tests.unit.audit.helpers import record, trail_db

T0 = 1_700_000_000.0


async def test_concurrent_records_commit_in_one_batch(tmp_path: Path) -> None:
    db = await trail_db(tmp_path)
    w = AuditWriter(db)
    seen: list[int] = []

    async def call(i: int) -> None:
        await w.submit(record(T0 + i))
        # resumed only once the batch is committed: a new connection sees it
        row = await db.fetchone("SELECT COUNT(*) FROM audit_events WHERE event_time = ?", T0 + i)
        seen.append(int(row[0]))

    await asyncio.gather(*(call(i) for i in range(20)))
    assert seen == [1] * 20
    assert (w.batches, w.written) == (1, 20)
    await asyncio.gather(*(call(i) for i in range(20, 25)))
    assert (w.batches, w.written) == (2, 25)
    await db.close()


async def test_every_caller_of_a_failed_batch_is_refused(tmp_path: Path) -> None:
    db = await trail_db(tmp_path)
    w = AuditWriter(db)
    w.fault = True
    results = await asyncio.gather(*(w.submit(record(T0 + i)) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, AuditUnavailable) for r in results)
    assert w.failures == 1 and w.written == 0
    w.fault = False
    await w.submit(record(T0))
    assert w.written == 1
    with pytest.raises(AuditUnavailable):
        w.fault = True
        await w.submit(record(T0 + 1))
    await db.close()
