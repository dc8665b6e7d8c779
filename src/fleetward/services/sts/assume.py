"""STS AssumeRole: temporary ``ASIA...`` credentials for a role session.

The caller needs both: the role's trust policy must allow ``sts:AssumeRole``
(a resource policy that must allow explicitly) and, unless the trust policy
names the caller directly, the caller's identity policies must allow it on the
role ARN (AWS's same-account rules, see ``fleetward.iam.evaluate``). Session
tags also need ``sts:TagSession``, a ``SourceIdentity`` (asked for, or kept from
a calling role session: role chaining keeps it) ``sts:SetSourceIdentity``;
all are decided with the condition keys ``sts:RoleSessionName``,
``sts:ExternalId``, ``sts:SourceIdentity``, ``sts:TransitiveTagKeys`` and the
role's ``aws:ResourceTag/``. The session's permissions are the role's policies intersected with the session policies
(``Policy``, ``PolicyArns``). A role session assuming a role (role chaining)
gets at most one hour.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from typing import Any

import orjson

from fleetward.auth.principal import PrincipalType
from fleetward.iam.arn import Arn
from fleetward.iam.errors import MalformedPolicyError
from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy
from fleetward.protocol.errors import AccessDeniedException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.directory import token_hash
from fleetward.services.iam.errors import MalformedPolicyDocument, PackedPolicyTooLarge, StsValidationError

MIN_DURATION = 900
# A role session assuming a role (role chaining) gets at most an hour, whatever the role's maximum.
CHAINED_MAX_DURATION = 3600
# STS packs (compresses) the session policy, policy ARNs and session tags into a
# binary form with a limit of its own; this packing is an estimate of AWS's.
PACKED_POLICY_LIMIT = 2048
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[^/]+/)*([\w+=,.@-]+)$")


def _packed_percent(policy: str | None, policy_arns: list[str], tags: dict[str, str]) -> int:
    """PackedPolicySize: the packed session policies and tags as a percentage of the limit
    (0 when there are none); over 100 the request fails with PackedPolicyTooLarge."""
    if not (policy or policy_arns or tags):
        return 0
    packed = zlib.compress(orjson.dumps([policy or "", policy_arns, sorted(tags.items())]), 9)
    return -(-len(packed) * 100 // PACKED_POLICY_LIMIT)


def _role_ref(role_arn: str) -> tuple[str, str] | None:
    m = _ROLE_ARN.match(role_arn)
    return (m.group(1), m.group(2)) if m else None


async def _trust(ctx: CallContext, role_arn: str) -> tuple[CompiledPolicy | None, dict[str, str]]:
    """The role's trust policy (None when there is no such role) and its tags."""
    ref = _role_ref(role_arn)
    if ref is None:
        return None, {}
    row = await ctx.conn.fetchone(
        "SELECT trust_policy, tags FROM iam_roles WHERE account = ? AND name = ?", ref[0], ref[1]
    )
    if row is None:
        return None, {}
    return _compile_trust(row[0]), store.tag_map(store.load_tags(row[1]))


@lru_cache(maxsize=1024)
def _compile_trust(text: str) -> CompiledPolicy | None:
    """A trust policy compiled once per document text (None if unreadable: it allows nothing)."""
    try:
        return compile_policy(text, kind=PolicyKind.RESOURCE, name="AssumeRolePolicyDocument")
    except MalformedPolicyError:
        return None


def _source_identity(ctx: CallContext, req: dict[str, Any]) -> str | None:
    """The new session's SourceIdentity: the request's, or the one a calling role
    session carries (role chaining keeps it; asking for another one is denied)."""
    inherited: str | None = ctx.principal.source_identity
    requested: str | None = req.get("SourceIdentity")
    if inherited is not None and requested is not None and requested != inherited:
        raise AccessDeniedException(
            f"User: {ctx.principal.arn} is not authorized to perform: sts:SetSourceIdentity "
            f"on resource: {req['RoleArn']}"
        )
    return requested if requested is not None else inherited


def _request_keys(
    req: dict[str, Any], role_tags: dict[str, str], source_identity: str | None
) -> dict[str, Any]:
    """AssumeRole's condition keys (``aws:RequestTag/``, ``aws:TagKeys`` are global)."""
    keys: dict[str, Any] = {"sts:rolesessionname": req["RoleSessionName"]}
    if req.get("ExternalId") is not None:
        keys["sts:externalid"] = req["ExternalId"]
    if source_identity is not None:
        keys["sts:sourceidentity"] = source_identity
    if req.get("TransitiveTagKeys"):
        keys["sts:transitivetagkeys"] = list(req["TransitiveTagKeys"])
    for k, v in role_tags.items():
        keys[f"aws:resourcetag/{k.lower()}"] = v
    return keys


async def _authz_assume(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    role_arn = req["RoleArn"]
    if Arn.parse(role_arn) is None:
        # Validated before authorization, as STS does.
        raise StsValidationError("Request ARN is invalid")
    trust, role_tags = await _trust(ctx, role_arn)
    ref = _role_ref(role_arn)
    owner = ref[0] if ref else None
    actions = ["sts:AssumeRole"]
    if req.get("Tags") or req.get("TransitiveTagKeys"):
        actions.append("sts:TagSession")
    source_identity = _source_identity(ctx, req)
    if source_identity is not None:
        actions.append("sts:SetSourceIdentity")
    keys = _request_keys(req, role_tags, source_identity)
    return [
        Check(
            action,
            role_arn,
            keys=keys,
            resource_policy=trust,
            resource_policy_required=True,
            resource_account=owner,
            resource_type="AWS::IAM::Role",
        )
        for action in actions
    ]


@operation("sts", "AssumeRole", authorize=_authz_assume, hidden={"SecretAccessKey", "SessionToken"})
async def assume_role(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    role_arn = req["RoleArn"]
    ref = _role_ref(role_arn)
    row = None
    if ref is not None:
        row = await ctx.conn.fetchone(
            "SELECT * FROM iam_roles WHERE account = ? AND name = ?", ref[0], ref[1]
        )
    if row is None or ref is None:
        # Authorization already refused a missing role; this is a race with DeleteRole.
        raise StsValidationError(f"Role {role_arn} does not exist.")
    max_duration = int(row["max_session_duration"])
    duration = int(req.get("DurationSeconds") or 3600)
    if duration > max_duration or duration < MIN_DURATION:
        raise StsValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            if duration > max_duration
            else f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_DURATION}"
        )
    if ctx.principal.type is PrincipalType.ASSUMED_ROLE and duration > CHAINED_MAX_DURATION:
        raise StsValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    policy = req.get("Policy")
    if policy:
        try:
            compile_policy(policy, kind=PolicyKind.IDENTITY, name="SessionPolicy")
        except MalformedPolicyError as e:
            raise MalformedPolicyDocument(e.message) from e
    policy_arns = [p["arn"] for p in req.get("PolicyArns") or () if p.get("arn")]
    for arn in policy_arns:
        await store.get_policy(ctx.conn, ref[0], arn)
    tags = {t["Key"]: t["Value"] for t in req.get("Tags") or ()}
    source_identity = _source_identity(ctx, req)
    packed = _packed_percent(policy, policy_arns, tags)
    if packed > 100:
        raise PackedPolicyTooLarge(
            f"Packed policy consumes {packed}% of allotted space, please use smaller policy for session."
        )
    key_id = store.new_access_key_id("ASIA")
    secret = store.new_secret()
    token = store.new_token()
    expires = ctx.now + duration
    await ctx.conn.execute(
        "INSERT INTO sts_sessions (access_key_id, account, role_id, session_name, secret, token_hash, created,"
        " expires, policy, policy_arns, tags, source_identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        key_id,
        row["account"],
        row["id"],
        req["RoleSessionName"],
        ctx.env.keyring.wrap(secret.encode(), aad=key_id.encode()),
        token_hash(token),
        float(ctx.now),
        float(expires),
        policy,
        orjson.dumps(policy_arns).decode(),
        orjson.dumps(tags).decode(),
        source_identity,
    )
    # Expired sessions are useless: prune a few on each AssumeRole.
    await ctx.conn.execute("DELETE FROM sts_sessions WHERE expires < ?", float(ctx.now - 86400))
    session_arn = f"arn:aws:sts::{row['account']}:assumed-role/{row['name']}/{req['RoleSessionName']}"
    out: dict[str, Any] = {
        "Credentials": {
            "AccessKeyId": key_id,
            "SecretAccessKey": secret,
            "SessionToken": token,
            "Expiration": store.dt(expires),
        },
        "AssumedRoleUser": {"AssumedRoleId": f"{row['id']}:{req['RoleSessionName']}", "Arn": session_arn},
        "PackedPolicySize": packed,
    }
    if source_identity is not None:
        out["SourceIdentity"] = source_identity
    ctx.resources = [{"ARN": role_arn, "type": "AWS::IAM::Role"}]
    return out
