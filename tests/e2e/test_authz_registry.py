"""The whole registry, walked: a principal with no policy is denied on every
non-public operation (AccessDeniedException / AccessDenied) and nothing changes;
a bad signature gets the signature error on every operation."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from collections.abc import Iterator
from re import _constants as sre_constants
from re import _parser as sre_parse
from typing import Any

import botocore.exceptions
import pytest
from botocore import xform_name
from botocore.model import Shape

from fleetward.server.app import build_registry, catalog
from tests.support.server import Server

SPECS = sorted((s for s in build_registry().specs() if not s.public), key=lambda s: (s.service, s.name))
IDS = [f"{s.service}:{s.name}" for s in SPECS]
_SKIP_COUNT = {"audit_events", "audit_resources", "alembic_version", "audit_digests"}


# ------------------------------------------------------------ minimal inputs


def _from_pattern(pattern: str, reps: int) -> str | None:
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, sre_constants.error, TypeError):
        return None
    out: list[str] = []

    def walk(items: Any) -> None:
        for op, av in items:
            if op is sre_constants.LITERAL:
                out.append(chr(av))
            elif op is sre_constants.NOT_LITERAL:
                out.append("a" if chr(av) != "a" else "b")
            elif op is sre_constants.ANY:
                out.append("a")
            elif op is sre_constants.IN:
                out.append(_from_class(av))
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
                lo, hi, sub = av
                n = max(lo, min(reps, hi if hi != sre_constants.MAXREPEAT else reps))
                for _ in range(n):
                    walk(sub)
            elif op is sre_constants.SUBPATTERN:
                walk(av[-1])
            elif op is sre_constants.BRANCH:
                walk(av[1][0])

    try:
        walk(parsed)
    except Exception:
        return None
    return "".join(out)


def _from_class(items: Any) -> str:
    negate = False
    for op, av in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif not negate:
            if op is sre_constants.LITERAL:
                return chr(av)
            if op is sre_constants.RANGE:
                return chr(av[0])
            if op is sre_constants.CATEGORY:
                return {"category_digit": "0", "category_space": " "}.get(str(av).lower(), "a")
    return "a" if not any(op is sre_constants.LITERAL and av == ord("a") for op, av in items) else "b"


def _string(shape: Shape) -> str:
    enum = shape.enum
    if enum:
        return str(enum[0])
    lo = int(shape.metadata.get("min", 1) or 1)
    hi = int(shape.metadata.get("max", 10**6))
    pattern = shape.metadata.get("pattern")
    if pattern:
        for reps in (1, 2, 3, 5, 8, 12, 20, 32, 64):
            value = _from_pattern(pattern, reps)
            if value is not None and lo <= len(value) <= hi:
                try:
                    if re.fullmatch(pattern, value):
                        return value
                except re.error:
                    return value
    return ("a" * max(lo, 1))[:hi]


def minimal(shape: Shape, depth: int = 0) -> Any:
    t = shape.type_name
    if t == "structure":
        return {m: minimal(shape.members[m], depth + 1) for m in shape.required_members}
    if t == "list":
        n = int(shape.metadata.get("min", 0) or 0)
        return [minimal(shape.member, depth + 1) for _ in range(n)]
    if t == "map":
        n = int(shape.metadata.get("min", 0) or 0)
        return {
            _string(shape.key) + str(i) if i else _string(shape.key): minimal(shape.value, depth + 1)
            for i in range(n)
        }
    if t == "string":
        return _string(shape)
    if t in ("integer", "long"):
        lo = int(shape.metadata.get("min", 1))
        return max(lo, 1) if shape.metadata.get("max", 10**9) >= 1 else lo
    if t in ("double", "float"):
        return float(shape.metadata.get("min", 1))
    if t == "boolean":
        return False
    if t == "timestamp":
        return dt.datetime.now(dt.UTC)
    if t == "blob":
        return b"x" * max(int(shape.metadata.get("min", 1)), 1)
    return None


def _request(service: str, name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Minimal input; members naming an existing resource (a KMS key made by the
    admin) are pointed at it, so the check meets a real resource policy."""
    op = catalog()[service].model.operation_model(name)
    req = minimal(op.input_shape) if op.input_shape is not None else {}
    for member, value in (overrides or {}).get(service, {}).items():
        if member in req or member in _IN_FACT_REQUIRED.get(name, ()):
            req[member] = value
    return req


# Members the model leaves optional that the service requires all the same
# (KMS Decrypt/ReEncrypt without a CiphertextBlob is a ValidationException).
# (KMS RetireGrant names its grant by token, or by key and grant id).
_IN_FACT_REQUIRED = {
    "Decrypt": ("CiphertextBlob",),
    "ReEncrypt": ("CiphertextBlob",),
    "RetireGrant": ("GrantToken",),
}


@pytest.fixture(scope="module")
def overrides(server: Server) -> dict[str, dict[str, Any]]:
    # SSM service settings: a real setting and a value it accepts, so a denied
    # UpdateServiceSetting would have changed something.
    out: dict[str, dict[str, Any]] = {
        "ssm": {
            "ResourceType": "Parameter",
            "SettingId": "/ssm/parameter-store/default-parameter-tier",
            "SettingValue": "Advanced",
        }
    }
    # IAM calls name entities that exist (with policies, keys, tags), so a denied
    # change would have something to change.
    iam = server.client("iam")
    sfx = uuid.uuid4().hex[:8]
    user, group, role, profile = (f"registry-{k}-{sfx}" for k in ("user", "group", "role", "profile"))
    doc = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}]}'
    )
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    policy = iam.create_policy(PolicyName=f"registry-policy-{sfx}", PolicyDocument=doc)["Policy"]["Arn"]
    iam.create_user(UserName=user, Tags=[{"Key": "a", "Value": "b"}])
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=doc)
    iam.attach_user_policy(UserName=user, PolicyArn=policy)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="a", PolicyDocument=doc)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust, Tags=[{"Key": "a", "Value": "b"}])
    iam.put_role_policy(RoleName=role, PolicyName="a", PolicyDocument=doc)
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    account = server.client("sts").get_caller_identity()["Account"]
    out["sts"] = {"RoleArn": f"arn:aws:iam::{account}:role/{role}"}
    out["iam"] = {
        "UserName": user,
        "GroupName": group,
        "RoleName": role,
        "InstanceProfileName": profile,
        "PolicyArn": policy,
        "PolicyName": "a",
        "AccessKeyId": key,
        "VersionId": "v1",
    }
    if any(s.service == "kms" and s.name == "CreateKey" for s in SPECS):
        kms = server.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
        grantee = f"arn:aws:iam::{account}:user/registry-grantee"
        token = kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt"])["GrantToken"]
        out["kms"] = {
            "KeyId": key,
            "TargetKeyId": key,
            "DestinationKeyId": key,
            "CiphertextBlob": blob,
            # Well-formed names and principals, so the request reaches the policy check.
            "AliasName": "alias/registry-walk",
            "GranteePrincipal": grantee,
            "RetiringPrincipal": f"arn:aws:iam::{account}:user/nobody",
            "GrantToken": token,
            "Operations": ["Decrypt"],
        }
    return out


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def nobody(server: Server) -> tuple[str, str]:
    iam = server.client("iam")
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _snapshot(server: Server) -> dict[str, int]:
    """A digest of every row of every table but the trail's (and of the access
    keys' last-use columns, which any signed call may move)."""
    with sqlite3.connect(server.data_dir / "fleetward.db") as db:
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_") and r[0] not in _SKIP_COUNT
        ]
        out: dict[str, int] = {}
        for t in tables:
            columns = [
                r[1] for r in db.execute(f'PRAGMA table_info("{t}")') if not r[1].startswith("last_used")
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            out[t] = hash(tuple(sorted(map(repr, db.execute(f'SELECT {select} FROM "{t}"')))))
        return out


def _denials(server: Server, name: str, access_key: str) -> int:
    with sqlite3.connect(server.data_dir / "fleetward.db") as db:
        row = db.execute(
            "SELECT COUNT(*) FROM audit_events WHERE event_name = ? AND access_key_id = ?"
            " AND error_code IN ('AccessDenied', 'AccessDeniedException')",
            (name, access_key),
        ).fetchone()
        return int(row[0])


@pytest.fixture(scope="module")
def clients(server: Server, nobody: tuple[str, str]) -> Iterator[dict[str, Any]]:
    yield {}


def _client(server: Server, clients: dict[str, Any], service: str, creds: tuple[str, str]) -> Any:
    key = (service, creds)
    if key not in clients:
        clients[key] = server.client(service, creds=creds)
    return clients[key]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_no_policy_means_access_denied_and_no_change(
    server: Server, nobody: tuple[str, str], clients: dict[str, Any], overrides: dict[str, Any], spec: Any
) -> None:
    request = _request(spec.service, spec.name, overrides)
    before = _snapshot(server)
    denials = _denials(server, spec.name, nobody[0])
    client = _client(server, clients, spec.service, nobody)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        getattr(client, xform_name(spec.name))(**request)
    code = e.value.response["Error"]["Code"]
    assert code in ("AccessDeniedException", "AccessDenied"), e.value.response["Error"]
    assert e.value.response["Error"]["Message"].startswith("User: arn:aws:iam::")
    assert _snapshot(server) == before
    assert _denials(server, spec.name, nobody[0]) == denials + 1


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_signature_everywhere(
    server: Server, nobody: tuple[str, str], clients: dict[str, Any], spec: Any
) -> None:
    client = _client(server, clients, spec.service, (nobody[0], "wrong" + nobody[1][5:]))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        getattr(client, xform_name(spec.name))(**_request(spec.service, spec.name))
    assert e.value.response["Error"]["Code"] in ("InvalidSignatureException", "SignatureDoesNotMatch")


def test_every_non_public_operation_is_walked() -> None:
    names = {(s.service, s.name) for s in SPECS}
    assert ("iam", "CreateUser") in names and ("sts", "AssumeRole") in names
    assert ("sts", "GetCallerIdentity") not in names
