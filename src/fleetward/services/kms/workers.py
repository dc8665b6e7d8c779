"""Background work: scheduled key rotation and destruction of keys whose deletion window passed."""

from __future__ import annotations

import asyncio
import logging

from fleetward.services.context import ServiceEnv
from fleetward.services.kms.engine import KeyService
from fleetward.services.kms.model import KeyState

__all__ = ["destroy_due", "rotate_due", "run_forever"]

log = logging.getLogger("fleetward.kms")


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
