"""The KMS workers record what they do: RotateKey and DeleteKey service events, or nothing changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from fleetward.audit.digest import close_period
from fleetward.audit.validate import validate_trail
from fleetward.audit.writer import AuditUnavailable
from fleetward.services.context import ServiceEnv
from fleetward.services.kms import workers
from fleetward.services.kms.engine import KeyService
from fleetward.services.kms.model import DAY, KeyEvent
from tests.unit.services.kms.conftest import ACCOUNT, REGION


async def _events(env: ServiceEnv) -> list[dict[str, Any]]:
    rows = await env.db.fetchall("SELECT record FROM audit_events ORDER BY seq")
    return [orjson.loads(r[0]) for r in rows]


async def test_rotation_and_deletion_are_recorded_as_service_events(env: ServiceEnv) -> None:
    s: KeyService = env.extras["kms"]
    async with env.db.write() as conn:
        key = await s.create_key(conn, ACCOUNT, REGION, env.clock.now(), description="d")
        await s.save_state(
            conn,
            replace(key, rotation_enabled=True, rotation_period=90, next_rotation=env.clock.now() + 90 * DAY),
        )
    env.clock.offset = 91 * DAY
    assert await workers.rotate_due(env, s) == 1
    async with env.db.write() as conn:
        current = await s.get(conn, key.key_id)
        assert current is not None
        await s.save_state(
            conn,
            replace(
                current.after(KeyEvent.SCHEDULE_DELETION),
                deletion_date=env.clock.now() + 7 * DAY,
                pending_window=7,
            ),
        )
    env.clock.offset = 99 * DAY
    assert await workers.destroy_due(env, s) == 1
    events = await _events(env)
    assert [e["eventName"] for e in events] == ["RotateKey", "DeleteKey"]
    for e in events:
        assert e["eventType"] == "AwsServiceEvent" and e["eventSource"] == "kms.amazonaws.com"
        assert e["userIdentity"] == {"accountId": ACCOUNT, "invokedBy": "kms.amazonaws.com"}
        assert e["resources"] == [{"ARN": key.arn, "accountId": ACCOUNT, "type": "AWS::KMS::Key"}]
        assert e["requestParameters"] is None and e["readOnly"] is False
    rows = await env.db.fetchall("SELECT resource_name FROM audit_resources")
    assert [r[0] for r in rows] == [key.arn, key.arn]  # LookupEvents finds them by the key
    now = env.clock.now()
    await close_period(env.db, env.extras["keyring"], end=now + 1, now=now + 1)
    report = await validate_trail(env.db, now=now + 2)
    assert report.ok and report.records_verified == 2


async def test_no_record_no_deletion(env: ServiceEnv) -> None:
    s: KeyService = env.extras["kms"]
    async with env.db.write() as conn:
        key = await s.create_key(conn, ACCOUNT, REGION, env.clock.now(), description="d")
        await s.save_state(
            conn,
            replace(
                key.after(KeyEvent.SCHEDULE_DELETION),
                deletion_date=env.clock.now() + 7 * DAY,
                pending_window=7,
            ),
        )
    env.clock.offset = 8 * DAY
    env.extras["audit"].fault = True
    with pytest.raises(AuditUnavailable):
        await workers.destroy_due(env, s)
    async with env.db.read() as conn:
        assert await s.get(conn, key.key_id) is not None  # still there, to be retried
    env.extras["audit"].fault = False
    assert await workers.destroy_due(env, s) == 1
    assert [e["eventName"] for e in await _events(env)] == ["DeleteKey"]
