"""The authorizer's request context, decisions and AWS's denial messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fleetward.auth.credentials import CredentialCache, TtlCache
from fleetward.auth.principal import Principal, PrincipalType
from fleetward.iam.evaluate import Decision, DecisionKind
from fleetward.iam.policy import PolicyKind, compile_policy
from fleetward.protocol.errors import AccessDeniedException
from fleetward.protocol.registry import Check
from fleetward.services.iam.authz import Authorizer, deny_message, global_keys, request_tag_keys
from fleetward.services.iam.directory import EntityPolicies

ACCOUNT = "123456789012"
USER = Principal(
    type=PrincipalType.IAM_USER,
    account=ACCOUNT,
    arn=f"arn:aws:iam::{ACCOUNT}:user/dev/alice",
    principal_id="AIDAALICE",
    access_key="AKIAALICE",
    name="alice",
    entity_id="AIDAALICE",
    tags={"Team": "blue"},
)
SESSION = Principal(
    type=PrincipalType.ASSUMED_ROLE,
    account=ACCOUNT,
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/R/s1",
    principal_id="AROAR:s1",
    access_key="ASIAX",
    name="s1",
    entity_id="AROAR",
    tags={"Team": "blue", "Env": "x"},
    session_tags={"Team": "red"},
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/R",
    role_name="R",
    session_name="s1",
    session_created=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
)


def test_global_keys_for_a_user() -> None:
    keys = global_keys(USER, source_ip="10.0.0.9", now=1704164645.7, secure=False, region="eu-west-1")
    assert keys["aws:sourceip"] == "10.0.0.9"
    assert keys["aws:currenttime"] == "2024-01-02T03:04:05Z"
    assert keys["aws:epochtime"] == "1704164645"
    assert keys["aws:securetransport"] == "false"
    assert keys["aws:principalarn"] == USER.arn
    assert keys["aws:principalaccount"] == ACCOUNT
    assert keys["aws:principaltype"] == "User"
    assert keys["aws:username"] == "alice"
    assert keys["aws:userid"] == "AIDAALICE"
    assert keys["aws:principaltag/team"] == "blue"
    assert keys["aws:requestedregion"] == "eu-west-1"
    assert "aws:multifactorauthpresent" not in keys  # long-term keys: absent, as in AWS
    assert "aws:tagkeys" not in keys
    assert keys["aws:viaawsservice"] == "false"  # always present
    assert keys["aws:principalisawsservice"] == "false"
    on_behalf = global_keys(
        USER, source_ip="10.0.0.9", now=0, secure=False, region="eu-west-1", via_aws_service=True
    )
    assert on_behalf["aws:viaawsservice"] == "true"


def test_global_keys_for_a_role_session() -> None:
    keys = global_keys(SESSION, source_ip="127.0.0.1", now=0, secure=True, region="us-east-1")
    assert keys["aws:principalarn"] == SESSION.role_arn  # the role, not the session
    assert keys["aws:principaltype"] == "AssumedRole"
    assert keys["aws:userid"] == "AROAR:s1"
    assert keys["aws:principaltag/team"] == "red"  # session tags win over role tags
    assert keys["aws:principaltag/env"] == "x"
    assert keys["aws:multifactorauthpresent"] == "false"
    assert keys["aws:securetransport"] == "true"
    assert keys["aws:tokenissuetime"] == "2024-01-02T03:04:05Z"
    assert "aws:username" not in keys


@pytest.mark.parametrize(
    "params",
    [
        {"Tags": [{"Key": "Owner", "Value": "me"}, {"Key": "cost", "Value": "1"}]},
        {"Tags": {"Owner": "me", "cost": "1"}},
        {"tags": {"Owner": "me", "cost": "1"}},
    ],
)
def test_request_tags_from_either_shape(params: dict[str, Any]) -> None:
    keys = request_tag_keys(params)
    assert keys["aws:requesttag/owner"] == "me"
    assert keys["aws:requesttag/cost"] == "1"
    assert keys["aws:tagkeys"] == ["Owner", "cost"]


def test_request_tags_absent() -> None:
    assert request_tag_keys({"Name": "x"}) == {}
    assert request_tag_keys(None) == {}


def test_untagging_calls_give_their_tag_keys() -> None:
    assert request_tag_keys({"UserName": "u", "TagKeys": ["Owner", "cost"]}) == {
        "aws:tagkeys": ["Owner", "cost"]
    }


@pytest.mark.parametrize(
    ("decision", "tail"),
    [
        (
            Decision(DecisionKind.IMPLICIT_DENY, None, "identity-based policy"),
            "because no identity-based policy allows the iam:ListUsers action",
        ),
        (
            Decision(DecisionKind.EXPLICIT_DENY, None, "identity-based policy"),
            "with an explicit deny in an identity-based policy",
        ),
        (
            Decision(DecisionKind.IMPLICIT_DENY, None, "permissions boundary"),
            "because no permissions boundary allows the iam:ListUsers action",
        ),
        (
            Decision(DecisionKind.IMPLICIT_DENY, None, "session policy"),
            "because no session policy allows the iam:ListUsers action",
        ),
        (
            Decision(DecisionKind.IMPLICIT_DENY, None, "resource-based policy"),
            "because no resource-based policy allows the iam:ListUsers action",
        ),
        (
            Decision(DecisionKind.EXPLICIT_DENY, None, "resource-based policy"),
            "with an explicit deny in a resource-based policy",
        ),
    ],
)
def test_deny_messages(decision: Decision, tail: str) -> None:
    msg = deny_message(USER, "iam:ListUsers", "arn:aws:iam::123456789012:user/", decision)
    assert msg == (
        f"User: {USER.arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::123456789012:user/ {tail}"
    )


class _Dir:
    def __init__(self, policies: EntityPolicies, session: tuple[Any, ...] = ()) -> None:
        self._p = policies
        self._s = session

    async def policies(self, principal: Principal) -> EntityPolicies:
        return self._p

    async def session_policies(self, principal: Principal) -> tuple[Any, ...]:
        return self._s


class _Call:
    def __init__(
        self, principal: Principal, params: dict[str, Any] | None = None, ip: str = "127.0.0.1"
    ) -> None:
        self.principal = principal
        self.source_ip = ip
        self.now = 1704164645.0
        self.tls = None
        self.region = "us-east-1"
        self.params = params
        self.audit_extra: dict[str, Any] = {}


def _identity(*statements: dict[str, Any], name: str = "p") -> Any:
    return compile_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name)


async def test_allow_records_the_deciding_statement() -> None:
    pol = _identity({"Sid": "Read", "Effect": "Allow", "Action": "ssm:Get*", "Resource": "*"}, name="read")
    authz = Authorizer(_Dir(EntityPolicies((pol,), None)))  # type: ignore[arg-type]
    call = _Call(USER)
    await authz.authorize(call, [Check("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/x")])
    [entry] = call.audit_extra["authorization"]
    assert entry["decision"] == "Allow"
    assert entry["policyName"] == "read"
    assert entry["sid"] == "Read"
    assert entry["policyType"] == "identity"


async def test_explicit_deny_and_source_ip_condition() -> None:
    allow = _identity({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = _identity(
        {
            "Sid": "NotFromHere",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        },
        name="ipdeny",
    )
    authz = Authorizer(_Dir(EntityPolicies((allow, deny), None)))  # type: ignore[arg-type]
    await authz.authorize(_Call(USER, ip="10.1.2.3"), [Check("iam:ListUsers")])
    call = _Call(USER, ip="127.0.0.1")
    with pytest.raises(AccessDeniedException) as e:
        await authz.authorize(call, [Check("iam:ListUsers")])
    assert "with an explicit deny in an identity-based policy" in e.value.message
    assert "ipdeny" not in e.value.message  # the deciding statement is for the audit trail only
    assert call.audit_extra["authorization"][0]["policyName"] == "ipdeny"


async def test_request_tag_condition() -> None:
    pol = _identity(
        {
            "Effect": "Allow",
            "Action": "iam:TagUser",
            "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
        }
    )
    authz = Authorizer(_Dir(EntityPolicies((pol,), None)))  # type: ignore[arg-type]
    await authz.authorize(_Call(USER, {"Tags": [{"Key": "team", "Value": "x"}]}), [Check("iam:TagUser")])
    with pytest.raises(AccessDeniedException):
        await authz.authorize(_Call(USER, {"Tags": [{"Key": "owner", "Value": "x"}]}), [Check("iam:TagUser")])


async def test_boundary_and_session_policies_intersect() -> None:
    allow = _identity({"Effect": "Allow", "Action": "*", "Resource": "*"})
    boundary = _identity({"Effect": "Allow", "Action": "ssm:*", "Resource": "*"})
    session = (_identity({"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}),)
    authz = Authorizer(_Dir(EntityPolicies((allow,), boundary), session))  # type: ignore[arg-type]
    await authz.authorize(_Call(SESSION), [Check("ssm:GetParameter")])
    with pytest.raises(AccessDeniedException, match="because no session policy allows"):
        await authz.authorize(_Call(SESSION), [Check("ssm:PutParameter")])
    with pytest.raises(AccessDeniedException, match="because no permissions boundary allows"):
        await authz.authorize(_Call(SESSION), [Check("iam:ListUsers")])


async def test_key_policy_must_allow_and_mid_operation_keys() -> None:
    allow = _identity(
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}},
        }
    )
    key_policy = compile_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
        ),
        kind=PolicyKind.RESOURCE,
    )
    authz = Authorizer(_Dir(EntityPolicies((allow,), None)))  # type: ignore[arg-type]
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    ok = Check(
        "kms:Decrypt",
        key,
        keys={"kms:viaservice": "ssm.us-east-1.amazonaws.com"},
        resource_policy=key_policy,
        resource_policy_required=True,
    )
    await authz.authorize(_Call(USER), [ok])
    with pytest.raises(AccessDeniedException):
        await authz.authorize(
            _Call(USER),
            [Check("kms:Decrypt", key, resource_policy=key_policy, resource_policy_required=True)],
        )
    with pytest.raises(AccessDeniedException, match="because no resource-based policy allows"):
        await authz.authorize(
            _Call(USER),
            [
                Check(
                    "kms:Decrypt",
                    key,
                    keys={"kms:viaservice": "ssm.us-east-1.amazonaws.com"},
                    resource_policy=None,
                    resource_policy_required=True,
                )
            ],
        )


async def test_root_is_not_limited_by_identity_policies() -> None:
    root = Principal(
        type=PrincipalType.ROOT,
        account=ACCOUNT,
        arn=f"arn:aws:iam::{ACCOUNT}:root",
        principal_id=ACCOUNT,
        access_key="AKIAROOT",
        name="root",
    )
    authz = Authorizer(_Dir(EntityPolicies((), None)))  # type: ignore[arg-type]
    await authz.authorize(_Call(root), [Check("iam:ListUsers")])


def test_ttl_cache_expiry_generation_and_bound() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(max_entries=2, ttl=5.0, monotonic=lambda: now[0])
    cache.put("a", 1)
    assert cache.get("a") == 1
    now[0] = 6.0
    assert cache.get("a") is None  # expired: other workers' changes show within the TTL
    gen = cache.generation
    cache.clear()
    cache.put("b", 2, gen)  # a load that began before the invalidation is not cached
    assert cache.get("b") is None
    for k in "cde":
        cache.put(k, 1)
    assert len(cache) == 2 and cache.get("c") is None
    assert isinstance(CredentialCache(), TtlCache)
