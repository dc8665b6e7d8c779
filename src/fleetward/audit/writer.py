"""The durable audit writer.

A call that changes state writes its record in its own transaction
(:meth:`AuditWriter.write_in`). Every other record goes through group
commit (:meth:`AuditWriter.submit`): records that arrive in the same turn
of the event loop are inserted by one multi-row statement in one
transaction, and each caller resumes only when its batch is durable. If the
trail cannot be written the call fails: no response leaves unrecorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from fleetward.audit.record import AuditRecord, dumps
from fleetward.storage.db import Conn, Database

__all__ = ["AuditUnavailable", "AuditWriter"]

log = logging.getLogger("fleetward.audit")

_INSERT = (
    "INSERT INTO audit_events (account, region, event_id, event_time, event_name, event_source,"
    " username, access_key_id, principal_arn, read_only, error_code, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_RES = "INSERT INTO audit_resources (event_id, resource_type, resource_name) VALUES (?, ?, ?)"


class AuditUnavailable(Exception):
    """The trail could not be written; the call must fail."""


def _row(r: AuditRecord) -> tuple[Any, ...]:
    return (
        r.account,
        r.region,
        r.event_id,
        r.event_time,
        r.event_name,
        r.event_source,
        r.username,
        r.access_key_id,
        r.principal_arn,
        1 if r.read_only else 0,
        r.error_code,
        r.text or dumps(r.record).decode(),
    )


def _res_rows(records: Sequence[AuditRecord]) -> list[tuple[Any, ...]]:
    return [(r.event_id, res.get("type"), res["ARN"]) for r in records for res in r.resources]


class AuditWriter:
    def __init__(self, db: Database, *, enabled: bool = True) -> None:
        self.db = db
        # Only a test/benchmark switch turns the trail off (bench/ measures its cost).
        self.enabled = enabled
        self.failures = 0
        self.written = 0
        self.batches = 0
        self._flushes: set[asyncio.Task[None]] = set()
        # Test-only fault injection (set through a --test-mode admin endpoint):
        # every write fails as if the trail were unwritable.
        self.fault = False
        self._pending: list[AuditRecord] = []
        self._batch_done: asyncio.Future[None] | None = None

    async def write_in(self, conn: Conn, *records: AuditRecord) -> None:
        """Insert ``records`` inside the caller's transaction."""
        if not self.enabled:
            return
        try:
            if self.fault:
                raise OSError("injected audit fault (test mode)")
            if len(records) == 1:
                await conn.execute(_INSERT, *_row(records[0]))
            else:
                await conn.executemany(_INSERT, [_row(r) for r in records])
            res = _res_rows(records)
            if res:
                await conn.executemany(_INSERT_RES, res)
        except Exception as e:
            self.failures += 1
            log.error("audit trail write failed, call refused: %s: %s", type(e).__name__, e)
            raise AuditUnavailable from e
        self.written += len(records)

    async def submit(self, *records: AuditRecord) -> None:
        """Queue ``records`` and return once their batch is durable.

        Records submitted together (a call and the calls it made on the
        caller's behalf) commit in the same batch: one wait, not one each.
        Raises AuditUnavailable when the batch could not be written.
        """
        if not self.enabled:
            return
        self._pending.extend(records)
        fut = self._batch_done
        if fut is None:
            loop = asyncio.get_running_loop()
            fut = self._batch_done = loop.create_future()
            loop.call_soon(self._start_flush)
        await asyncio.shield(fut)

    def _start_flush(self) -> None:
        batch, fut = self._pending, self._batch_done
        self._pending, self._batch_done = [], None
        if fut is not None:
            task = asyncio.ensure_future(self._flush(batch, fut))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self, batch: list[AuditRecord], fut: asyncio.Future[None]) -> None:
        try:
            if self.fault:
                raise OSError("injected audit fault (test mode)")
            async with self.db.write() as conn:
                await conn.executemany(_INSERT, [_row(r) for r in batch])
                res = _res_rows(batch)
                if res:
                    await conn.executemany(_INSERT_RES, res)
        except Exception as e:
            self.failures += 1
            log.error(
                "audit trail batch of %d failed, calls refused: %s: %s", len(batch), type(e).__name__, e
            )
            fut.set_exception(AuditUnavailable())
            fut.exception()  # mark retrieved: every waiter gets it through shield
            return
        self.written += len(batch)
        self.batches += 1
        fut.set_result(None)

    async def drain(self) -> None:
        """Wait for queued records (graceful shutdown)."""
        while self._batch_done is not None:
            await asyncio.sleep(0)
            fut = self._batch_done
            if fut is not None:
                try:
                    await asyncio.shield(fut)
                except AuditUnavailable:
                    return
