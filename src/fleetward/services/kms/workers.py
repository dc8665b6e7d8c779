"""Background work: scheduled key rotation and destruction of keys whose deletion window passed.

Each is recorded in the trail as CloudTrail does (``RotateKey`` and
``DeleteKey`` service events by kms.amazonaws.com), in the transaction of
the change: if the record cannot be written, the key is left as it was.
"""

from __future__ import annotations

import asyncio
import logging

from fleetward.audit.record import build_service_event
from fleetward.services.context import ServiceEnv
from fleetward.services.kms.engine import RESOURCE_TYPE, KeyService
from fleetward.services.kms.model import KeyRecord, KeyState
from fleetward.storage.db import Conn

__all__ = ["destroy_due", "rotate_due", "run_forever"]

log = logging.getLogger("fleetward.kms")


async def _record(env: ServiceEnv, conn: Conn, key: KeyRecord, event_name: str, now: float) -> None:
    audit = env.extras.get("audit")
    if audit is None:
        return
    event = build_service_event(
        service="kms.amazonaws.com",
        account=key.account,
        region=key.region,
        event_name=event_name,
        event_time=now,
        resources=[{"ARN": key.arn, "type": RESOURCE_TYPE}],
    )
    await audit.write_in(conn, event)


async def rotate_due(env: ServiceEnv, svc: KeyService) -> int:
    """Rotate every enabled key whose next rotation date has passed; returns how many."""
    now = env.clock.now()
    rows = await env.db.fetchall(
        "SELECT key_id, next_rotation FROM kms_keys"
        " WHERE rotation_enabled = 1 AND state = ? AND next_rotation <= ?",
        str(KeyState.ENABLED),
        float(now),
    )
    done = 0
    for row in rows:
        async with env.db.write() as conn:
            # Claim the rotation: another replica may have done it already.
            claimed = await conn.execute(
                "UPDATE kms_keys SET next_rotation = ? WHERE key_id = ? AND next_rotation = ?",
                float(now),
                row["key_id"],
                row["next_rotation"],
            )
            key = await svc.get(conn, row["key_id"])
            if not claimed or key is None or key.state is not KeyState.ENABLED:
                continue
            await svc.rotate(conn, key, now, "AUTOMATIC")
            await _record(env, conn, key, "RotateKey", now)
            done += 1
    return done


async def destroy_due(env: ServiceEnv, svc: KeyService) -> int:
    """Destroy every key pending deletion whose window has passed; returns how many."""
    now = env.clock.now()
    rows = await env.db.fetchall(
        "SELECT key_id FROM kms_keys WHERE state = ? AND deletion_date <= ?",
        str(KeyState.PENDING_DELETION),
        float(now),
    )
    done = 0
    for row in rows:
        async with env.db.write() as conn:
            key = await svc.get(conn, row["key_id"])
            if key is None or key.state is not KeyState.PENDING_DELETION:
                continue
            if key.deletion_date is None or key.deletion_date > now:
                continue
            await svc.destroy(conn, key.key_id)
            await _record(env, conn, key, "DeleteKey", now)
            log.info("kms: destroyed key %s (deletion window passed)", key.arn)
            done += 1
    return done


async def run_forever(env: ServiceEnv, svc: KeyService, interval: float) -> None:
    """Rotate and destroy due keys every ``interval`` seconds (skipped while sealed)."""
    while True:
        try:
            if env.extras.get("keyring") is not None:
                await rotate_due(env, svc)
                await destroy_due(env, svc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kms worker iteration failed")
        await asyncio.sleep(interval)
