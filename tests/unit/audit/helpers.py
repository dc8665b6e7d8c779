"""A migrated SQLite trail and records, in process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fleetward.audit.record import AuditRecord, build_record
from fleetward.auth.principal import Principal, PrincipalType
from fleetward.crypto.keyring import Keyring
from fleetward.storage import migrate
from fleetward.storage.db import open_database

KEYRING = Keyring({1: os.urandom(32)})
ACCT = "111122223333"


def principal(name: str = "alice", account: str = ACCT) -> Principal:
    return Principal(
        type=PrincipalType.IAM_USER,
        account=account,
        arn=f"arn:aws:iam::{account}:user/{name}",
        principal_id="AIDA" + name.upper().ljust(17, "X"),
        access_key="AKIA" + name.upper().ljust(16, "0"),
        name=name,
    )


def record(t: float, name: str = "alice", event: str = "PutParameter", **kw: Any) -> AuditRecord:
    p = principal(name, kw.pop("account", ACCT))
    args: dict[str, Any] = {
        "principal": p,
        "account": p.account,
        "access_key": p.access_key,
        "region": "us-east-1",
        "event_source": "ssm.amazonaws.com",
        "event_name": event,
        "event_time": t,
        "request_id": "rid",
        "source_ip": "127.0.0.1",
        "user_agent": "test",
        "read_only": event.startswith("Get"),
        "request_parameters": {"name": "/x"},
        "response_elements": {"version": 1},
        "resources": [
            {"ARN": f"arn:aws:ssm:us-east-1:{p.account}:parameter/x", "type": "AWS::SSM::Parameter"}
        ],
    }
    args.update(kw)
    return build_record(**args)


async def trail_db(tmp: Path) -> Any:
    url = f"sqlite:///{tmp / 'trail.db'}"
    migrate.upgrade(url)
    return await open_database(url)
