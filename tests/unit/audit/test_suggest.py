"""``iam suggest-policy``: the permissions a principal's recorded calls were granted."""

from pathlib import Path
from typing import Any

from fleetward.audit.suggest import suggest_policy
from fleetward.audit.writer import AuditWriter
from fleetward.auth.principal import Principal, PrincipalType
from tests.unit.audit.helpers import ACCT, record, trail_db

T0 = 1_700_000_000.0
PROFILE = f"arn:aws:iam::{ACCT}:instance-profile/web"
ROLE = f"arn:aws:iam::{ACCT}:role/web"
PARAM = f"arn:aws:ssm:us-east-1:{ACCT}:parameter/x"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {"decision": "Allow", "action": action, "resource": resource, "policyName": "p"}


def _call(t: float, source: str, event: str, decisions: list[dict[str, Any]], **kw: Any) -> Any:
    return record(
        t,
        event=event,
        event_source=f"{source}.amazonaws.com",
        additional={"authorization": decisions} if decisions else None,
        resources=[{"ARN": d["resource"], "type": ""} for d in decisions if d["resource"] != "*"],
        **kw,
    )


async def test_actions_come_from_the_calls_authorization_decisions(tmp_path: Path) -> None:
    db = await trail_db(tmp_path)
    w = AuditWriter(db)
    await w.submit(
        # one operation, two actions on two resources
        _call(
            T0,
            "iam",
            "AddRoleToInstanceProfile",
            [_allow("iam:AddRoleToInstanceProfile", PROFILE), _allow("iam:PassRole", ROLE)],
        ),
        # the action is not the operation's name
        _call(T0 + 1, "kms", "ReEncrypt", [_allow("kms:ReEncryptFrom", KEY), _allow("kms:ReEncryptTo", KEY)]),
        # allowed, then failed for another reason: the permission was used
        _call(
            T0 + 2,
            "ssm",
            "PutParameter",
            [_allow("ssm:PutParameter", PARAM)],
            error_code="ParameterAlreadyExists",
        ),
        # a denied check grants nothing; the allowed one before it does
        _call(
            T0 + 3,
            "ssm",
            "GetParameter",
            [
                _allow("ssm:GetParameter", PARAM),
                {"decision": "ImplicitDeny", "action": "kms:Decrypt", "resource": KEY},
            ],
            error_code="AccessDeniedException",
        ),
        # needs no permission
        _call(T0 + 4, "sts", "GetCallerIdentity", []),
        # before --since
        _call(T0 - 100, "ssm", "DeleteParameter", [_allow("ssm:DeleteParameter", PARAM)]),
    )
    policy = await suggest_policy(db, f"arn:aws:iam::{ACCT}:user/alice", T0)
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:AddRoleToInstanceProfile", "Resource": PROFILE},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE},
            {"Effect": "Allow", "Action": ["kms:ReEncryptFrom", "kms:ReEncryptTo"], "Resource": KEY},
            {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"], "Resource": PARAM},
        ],
    }
    assert (await suggest_policy(db, f"arn:aws:iam::{ACCT}:user/bob", T0))["Statement"] == []
    await db.close()


async def test_records_without_decisions_and_role_sessions(tmp_path: Path) -> None:
    db = await trail_db(tmp_path)
    w = AuditWriter(db)
    session = Principal(
        type=PrincipalType.ASSUMED_ROLE,
        account=ACCT,
        arn=f"arn:aws:sts::{ACCT}:assumed-role/web/i-0abc",
        principal_id="AROAEXAMPLE:i-0abc",
        access_key="ASIAEXAMPLE",
        name="i-0abc",
        role_arn=ROLE,
        role_name="web",
        session_name="i-0abc",
    )
    await w.submit(
        # no decisions recorded: the event name on the record's resources
        record(T0, event="GetParameter", principal=session, access_key=session.access_key),
        record(T0 + 1, event="DescribeParameters", principal=session, resources=[]),
        record(T0 + 2, event="PutParameter", principal=session, error_code="AccessDeniedException"),
    )
    policy = await suggest_policy(db, ROLE, T0)
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "ssm:DescribeParameters", "Resource": "*"},
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": PARAM},
    ]
    await db.close()
