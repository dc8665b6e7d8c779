"""An expired parameter's deletion is in the trail: a DeleteParameter service event, or no deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from fleetward.audit.writer import AuditUnavailable, AuditWriter
from fleetward.auth.principal import Principal, PrincipalType
from fleetward.clock import Clock
from fleetward.services.context import CallContext, ServiceEnv
from fleetward.services.ssm.parameter_policies import parse_policies, policy_due, run_due, store_policies
from fleetward.services.ssm.store import write_version
from fleetward.storage import migrate
from fleetward.storage.db import open_database

ACCOUNT = "111122223333"
REGION = "us-east-1"
ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/token"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[ServiceEnv]:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    migrate.upgrade(url)
    db = await open_database(url)
    e = ServiceEnv(db=db, clock=Clock(), settings=SimpleNamespace(), region=REGION)
    e.extras["audit"] = AuditWriter(db)
    yield e
    await db.close()


async def _expiring_parameter(env: ServiceEnv) -> None:
    now = env.clock.now()
    policies = parse_policies(
        orjson.dumps(
            [{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00Z"}}]
        ).decode(),
        now,
    )
    fields: dict[str, Any] = {
        "type": "String",
        "data_type": "text",
        "tier": "Advanced",
        "key_id": None,
        "key_arn": None,
        "value": "v",
        "secret": None,
        "description": None,
        "allowed_pattern": None,
        "policies": store_policies(policies),
        "modified": now,
        "modified_user": f"arn:aws:iam::{ACCOUNT}:user/u",
        "policy_due": policy_due(policies, now),
        "policy_state": None,
    }
    p = Principal(PrincipalType.IAM_USER, ACCOUNT, fields["modified_user"], "AIDA", "AKIA", "u")
    async with env.db.write() as conn:
        await write_version(CallContext("rid", p, REGION, env, conn, now=now), "/app/token", 1, fields, "{}")
    env.clock.offset = 4_102_444_800.0 + 1 - now  # just past 2099-01-01


async def _count(env: ServiceEnv) -> int:
    row = await env.db.fetchone("SELECT COUNT(*) FROM ssm_parameters")
    return int(row[0])


async def test_expiry_deletion_is_recorded(env: ServiceEnv) -> None:
    await _expiring_parameter(env)
    assert await run_due(env) == 1
    assert await _count(env) == 0
    rows = await env.db.fetchall("SELECT record FROM audit_events")
    [rec] = [orjson.loads(r[0]) for r in rows]
    assert rec["eventName"] == "DeleteParameter" and rec["eventType"] == "AwsServiceEvent"
    assert rec["userIdentity"] == {"accountId": ACCOUNT, "invokedBy": "ssm.amazonaws.com"}
    assert rec["resources"] == [{"ARN": ARN, "accountId": ACCOUNT, "type": "AWS::SSM::Parameter"}]
    assert rec["additionalEventData"] == {"policyType": "Expiration"}


async def test_no_record_no_deletion(env: ServiceEnv) -> None:
    await _expiring_parameter(env)
    env.extras["audit"].fault = True
    with pytest.raises(AuditUnavailable):
        await run_due(env)
    assert await _count(env) == 1  # kept, to be deleted on a later pass
    env.extras["audit"].fault = False
    assert await run_due(env) == 1 and await _count(env) == 0
