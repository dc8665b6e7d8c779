"""AWS CloudTrail: LookupEvents and the trail calls, plus the trail's workers.

``setup`` adds the digest writer and the retention worker (background), and
loopback admin endpoints: ``GET /_fleetward/metrics`` (Prometheus text),
``POST /_fleetward/audit/digest`` (close the open period now) and, in
--test-mode only, ``POST /_fleetward/audit/fault`` (make the trail
unwritable, to test audit-or-fail).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from fleetward.audit import digest
from fleetward.services.context import ServiceEnv
from fleetward.services.kms.rewrap import WrappedColumn

__all__ = ["MODULES", "WRAPPED_COLUMNS", "setup"]

MODULES = ("events", "trails")

# The digest signing keys' private halves, wrapped by the root keyring.
WRAPPED_COLUMNS = (
    WrappedColumn(
        "audit_signing_keys", ("fingerprint",), "private_wrapped", ("fingerprint",), digest.key_aad
    ),
)

log = logging.getLogger("fleetward.audit")


class TrailMetrics:
    def __init__(self) -> None:
        self.digests = 0
        self.digest_failures = 0
        self.pruned = 0


def _rotation(env: ServiceEnv) -> int:
    return int(getattr(env.settings, "audit_key_rotation_days", digest.DEFAULT_ROTATION_DAYS))


async def _close(env: ServiceEnv, m: TrailMetrics, end: float) -> digest.ClosedDigest | None:
    keyring = env.extras.get("keyring")
    if keyring is None:  # sealed: nothing to sign with yet
        return None
    try:
        d = await digest.close_period(
            env.db,
            keyring,
            end=end,
            now=env.clock.now(),
            rotation_days=_rotation(env),
            retention_days=int(getattr(env.settings, "audit_retention_days", digest.DEFAULT_RETENTION_DAYS)),
        )
    except Exception:
        m.digest_failures += 1
        log.exception("audit digest could not be written")
        return None
    if d is not None:
        m.digests += 1
    return d


def _digest_worker(env: ServiceEnv, m: TrailMetrics) -> Any:
    async def run() -> None:
        while True:
            await _close(env, m, digest.due_end(env.clock.now()))
            await asyncio.sleep(30)

    return run


def _retention_worker(env: ServiceEnv, m: TrailMetrics) -> Any:
    async def run() -> None:
        while True:
            try:
                days = int(getattr(env.settings, "audit_retention_days", digest.DEFAULT_RETENTION_DAYS))
                # Never prune under a retention no digest signs yet: validation
                # would rightly call those records removed.
                days = max(days, await digest.signed_retention(env.db) or days)
                m.pruned += await digest.prune(env.db, env.clock.now() - days * 86400)
            except Exception:
                log.exception("audit retention pass failed")
            await asyncio.sleep(600)

    return run


async def setup(env: ServiceEnv) -> None:
    m = TrailMetrics()
    env.extras["trail_metrics"] = m
    if env.settings.audit:
        env.background.append(_digest_worker(env, m))
        env.background.append(_retention_worker(env, m))

    async def metrics(body: bytes, ip: str) -> tuple[int, Any]:
        audit = env.extras.get("audit")
        lines = [
            "# HELP fleetward_audit_write_failures_total Audit trail writes that failed (each failed call answered InternalFailure).",
            "# TYPE fleetward_audit_write_failures_total counter",
            f"fleetward_audit_write_failures_total {audit.failures if audit else 0}",
            "# HELP fleetward_audit_records_written_total Audit records written by this process.",
            "# TYPE fleetward_audit_records_written_total counter",
            f"fleetward_audit_records_written_total {audit.written if audit else 0}",
            "# HELP fleetward_audit_batches_total Group-commit batches written by this process.",
            "# TYPE fleetward_audit_batches_total counter",
            f"fleetward_audit_batches_total {audit.batches if audit else 0}",
            "# HELP fleetward_audit_digests_total Digests written by this process.",
            "# TYPE fleetward_audit_digests_total counter",
            f"fleetward_audit_digests_total {m.digests}",
            "# HELP fleetward_audit_digest_failures_total Digest writes that failed.",
            "# TYPE fleetward_audit_digest_failures_total counter",
            f"fleetward_audit_digest_failures_total {m.digest_failures}",
            "# HELP fleetward_audit_records_pruned_total Records deleted by retention.",
            "# TYPE fleetward_audit_records_pruned_total counter",
            f"fleetward_audit_records_pruned_total {m.pruned}",
        ]
        return 200, ("\n".join(lines) + "\n").encode()

    async def close_now(body: bytes, ip: str) -> tuple[int, Any]:
        d = await _close(env, m, env.clock.now())
        if d is None:
            return 409, {"closed": False}
        return 200, {"closed": True, "digestId": d.id, "records": d.record_count}

    env.admin[("GET", "/_fleetward/metrics")] = metrics
    env.admin[("POST", "/_fleetward/audit/digest")] = close_now
    if env.settings.test_mode:

        async def fault(body: bytes, ip: str) -> tuple[int, Any]:
            audit = env.extras["audit"]
            audit.fault = bool(orjson.loads(body or b"{}").get("fail", False))
            return 200, {"fail": audit.fault}

        env.admin[("POST", "/_fleetward/audit/fault")] = fault
