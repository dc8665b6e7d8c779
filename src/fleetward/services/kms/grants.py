"""KMS grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

Grants take effect at once (fleetward is consistent), so grant tokens are
accepted wherever the model allows them but are not needed. How grants
authorize calls is in ``grant_rules.py``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

from fleetward.iam.arn import caller_arns
from fleetward.iam.policy import PolicyKind, compile_policy
from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import engine, key_scoped, page, resolve
from fleetward.services.kms.errors import (
    DryRunOperationException,
    InvalidArnException,
    InvalidMarkerException,
    LimitExceededException,
    NotFoundException,
)
from fleetward.services.kms.grant_rules import (
    Grant,
    check_principal,
    decode_token,
    load_grants,
    new_token,
    validate_grant_tokens,
)
from fleetward.services.kms.model import (
    ENCRYPT_DECRYPT,
    GENERATE_VERIFY_MAC,
    SIGN_VERIFY,
    SYMMETRIC_DEFAULT,
    KeyRecord,
    require_usable,
)

MAX_GRANTS_PER_KEY = 50000
MAX_CONSTRAINT_PAIRS = 8
MAX_CONSTRAINT_VALUE = 384
_COLUMNS = (
    "grant_id, key_id, account, name, grantee, retiring, operations, constraints, issuing_account, created"
)
# The grant operations each kind of key supports (Developer Guide, "Grant
# operations"); CreateGrant, DescribeKey and RetireGrant on every key.
_ANY_KEY = frozenset({"CreateGrant", "DescribeKey", "RetireGrant"})
_SYMMETRIC_OPERATIONS = _ANY_KEY | {
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
}
_USAGE_OPERATIONS = {
    ENCRYPT_DECRYPT: _ANY_KEY | {"Decrypt", "Encrypt", "GetPublicKey", "ReEncryptFrom", "ReEncryptTo"},
    SIGN_VERIFY: _ANY_KEY | {"Sign", "Verify", "GetPublicKey"},
    GENERATE_VERIFY_MAC: _ANY_KEY | {"GenerateMac", "VerifyMac"},
    "KEY_AGREEMENT": _ANY_KEY | {"DeriveSharedSecret", "GetPublicKey"},
}


def _constraints(req: dict[str, Any]) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    c = req.get("Constraints") or {}
    subset, equals = c.get("EncryptionContextSubset"), c.get("EncryptionContextEquals")
    for value in (subset, equals):
        if value is not None and len(value) > MAX_CONSTRAINT_PAIRS:
            raise ValidationException(
                f"A grant constraint can include at most {MAX_CONSTRAINT_PAIRS} encryption context pairs."
            )
        if value is not None and any(len(v) > MAX_CONSTRAINT_VALUE for v in value.values()):
            raise ValidationException(
                "The encryption context value in a grant constraint cannot exceed"
                f" {MAX_CONSTRAINT_VALUE} characters."
            )
    return subset, equals


def _validate(req: dict[str, Any], key: KeyRecord | None = None) -> None:
    validate_grant_tokens(req)
    check_principal(req["GranteePrincipal"], allow_service=True)
    if req.get("RetiringPrincipal"):
        check_principal(req["RetiringPrincipal"], allow_service=False)
    if not req["Operations"]:
        raise ValidationException(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if key is not None:
        supported = _SYMMETRIC_OPERATIONS if key.symmetric else _USAGE_OPERATIONS.get(key.key_usage, _ANY_KEY)
        unsupported = [op for op in req["Operations"] if op not in supported]
        if unsupported:
            raise ValidationException(
                f"Grant operations {', '.join(unsupported)} are not supported on a KMS key"
                f" with KeyUsage {key.key_usage} and KeySpec {key.key_spec}."
            )
    subset, equals = _constraints(req)
    if key is not None and (subset is not None or equals is not None) and key.key_spec != SYMMETRIC_DEFAULT:
        raise ValidationException(
            "Encryption context grant constraints are not supported for asymmetric or HMAC KMS keys."
        )


async def _authz_create(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    _validate(req)
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    _validate(req, key)
    subset, equals = _constraints(req)
    keys: dict[str, Any] = {
        "kms:grantoperations": list(req["Operations"]),
        "kms:granteeprincipal": req["GranteePrincipal"],
        "kms:grantisforawsresource": "false",
    }
    if req.get("RetiringPrincipal"):
        keys["kms:retiringprincipal"] = req["RetiringPrincipal"]
    if subset is not None or equals is not None:
        keys["kms:grantconstrainttype"] = (
            "EncryptionContextEquals" if equals is not None else "EncryptionContextSubset"
        )
    check = await engine(ctx).check_for(
        ctx.conn,
        ctx.account,
        key,
        "kms:CreateGrant",
        child_grant=(list(req["Operations"]), subset, equals),
        extra_keys=keys,
    )
    return [check]


def _same_grant(g: Grant, req: dict[str, Any]) -> bool:
    subset, equals = _constraints(req)
    return (
        g.grantee == req["GranteePrincipal"]
        and g.retiring == req.get("RetiringPrincipal")
        and list(g.operations) == list(req["Operations"])
        and (dict(g.subset) if g.subset is not None else None) == subset
        and (dict(g.equals) if g.equals is not None else None) == equals
    )


@operation("kms", "CreateGrant", authorize=_authz_create)
async def create_grant(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """CreateGrant: a grant on an enabled key; returns its id and a fresh token.

    With a Name, a retry with identical parameters returns the existing grant's
    id (and a new token). DisabledException / KMSInvalidStateException unless
    enabled, InvalidArnException for a principal that is not one,
    LimitExceededException past 50,000 grants on a key.
    """
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_usable(key)
    existing = await load_grants(ctx.conn, key.key_id)
    name = req.get("Name")
    if name is not None:
        for g in existing:
            if g.name == name and _same_grant(g, req):
                return {"GrantId": g.grant_id, "GrantToken": new_token(g.grant_id)}
    if len(existing) >= MAX_GRANTS_PER_KEY:
        raise LimitExceededException(f"{key.arn} has reached the limit of {MAX_GRANTS_PER_KEY} grants.")
    if req.get("DryRun"):
        raise DryRunOperationException()
    subset, equals = _constraints(req)
    constraints: dict[str, Any] = {}
    if subset is not None:
        constraints["EncryptionContextSubset"] = subset
    if equals is not None:
        constraints["EncryptionContextEquals"] = equals
    grant_id = secrets.token_hex(32)
    await ctx.conn.execute(
        "INSERT INTO kms_grants (grant_id, key_id, account, region, name, grantee, retiring, operations,"
        " constraints, issuing_account, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        grant_id,
        key.key_id,
        key.account,
        key.region,
        name,
        req["GranteePrincipal"],
        req.get("RetiringPrincipal"),
        json.dumps(list(req["Operations"])),
        json.dumps(constraints) if constraints else None,
        ctx.account,
        float(ctx.now),
    )
    return {"GrantId": grant_id, "GrantToken": new_token(grant_id)}


def _listing(grants: list[Grant], arn_of: dict[str, str], req: dict[str, Any]) -> dict[str, Any]:
    marker = req.get("Marker")
    if marker:
        ids = [g.grant_id for g in grants]
        if marker not in ids:
            raise InvalidMarkerException()
        grants = grants[ids.index(marker) + 1 :]
    limit = req.get("Limit") or 50
    if limit > 100:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    items, more = page(grants, limit, 50)
    out: dict[str, Any] = {"Grants": [g.entry(arn_of[g.key_id]) for g in items], "Truncated": more}
    if more:
        out["NextMarker"] = items[-1].grant_id
    return out


async def _authz_list(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    validate_grant_tokens(req)
    return await key_scoped("kms:ListGrants", allow_alias=False)(ctx, req)


@operation("kms", "ListGrants", read_only=True, authorize=_authz_list)
async def list_grants(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The key's grants, oldest first; GrantId and GranteePrincipal filter."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    grants = await load_grants(ctx.conn, key.key_id)
    if req.get("GrantId"):
        grants = [g for g in grants if g.grant_id == req["GrantId"]]
    if req.get("GranteePrincipal"):
        grants = [g for g in grants if g.grantee == req["GranteePrincipal"]]
    return _listing(grants, {key.key_id: key.arn}, req)


async def _authz_list_retirable(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    # AWS authorizes the caller's IAM permission on the retiring principal itself.
    return [Check("kms:ListRetirableGrants", req["RetiringPrincipal"])]


@operation("kms", "ListRetirableGrants", read_only=True, authorize=_authz_list_retirable)
async def list_retirable_grants(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Grants (on keys of any account) whose retiring principal is the one named.

    The principal must be in the caller's account (InvalidArnException otherwise).
    """
    principal = req["RetiringPrincipal"]
    check_principal(principal, allow_service=False)
    if principal.split(":")[4] != ctx.account:
        raise InvalidArnException(f"{principal} is not a principal in account {ctx.account}.")
    rows = await ctx.conn.fetchall(
        f"SELECT g.{_COLUMNS.replace(', ', ', g.')}, k.arn AS key_arn FROM kms_grants g"
        " JOIN kms_keys k ON k.key_id = g.key_id WHERE g.retiring = ? AND g.region = ?"
        " ORDER BY g.created, g.grant_id",
        principal,
        ctx.region,
    )
    grants = [Grant.from_row(r) for r in rows]
    return _listing(grants, {r["key_id"]: r["key_arn"] for r in rows}, req)


async def _find(ctx: CallContext, req: dict[str, Any]) -> tuple[KeyRecord, Grant]:
    """The grant a RetireGrant names, by token or by key and grant id (NotFoundException)."""
    token = req.get("GrantToken")
    grant_id = req.get("GrantId")
    if token:
        grant_id = decode_token(token)
        row = await ctx.conn.fetchone(f"SELECT {_COLUMNS} FROM kms_grants WHERE grant_id = ?", grant_id)
        if row is None:
            raise NotFoundException(f"Grant ID {grant_id} not found")
        grant = Grant.from_row(row)
        key = await engine(ctx).get(ctx.conn, grant.key_id)
        if key is None:
            raise NotFoundException(f"Grant ID {grant_id} not found")
        return key, grant
    if not grant_id or not req.get("KeyId"):
        raise ValidationException("Either a grant token, or both the key ID and the grant ID, are required.")
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    for g in await load_grants(ctx.conn, key.key_id):
        if g.grant_id == grant_id:
            return key, g
    raise NotFoundException(f"Grant ID {grant_id} not found")


async def _authz_retire(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    """Who may retire: the retiring principal, the grantee when the grant allows RetireGrant,
    and principals the key policy allows kms:RetireGrant (the key's account)."""
    key, grant = await _find(ctx, req)
    check = await engine(ctx).check_for(ctx.conn, ctx.account, key, "kms:RetireGrant")
    principals = [grant.retiring] if grant.retiring else []
    if "RetireGrant" in grant.operations and grant.grantee.startswith("arn:"):
        principals.append(grant.grantee)
    policy = check.resource_policy
    if principals and not set(caller_arns(ctx.principal.arn)).isdisjoint(principals):
        doc = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"grant-{grant.grant_id}",
                    "Effect": "Allow",
                    "Principal": {"AWS": principals},
                    "Action": "kms:RetireGrant",
                    "Resource": "*",
                }
            ],
        }
        extra = compile_policy(doc, kind=PolicyKind.RESOURCE, name="grant")
        policy = replace(policy, statements=policy.statements + extra.statements)
    return [
        Check(
            check.action,
            check.resource,
            keys=check.keys,
            resource_policy=policy,
            resource_policy_required=True,
            resource_account=check.resource_account,
            resource_type=check.resource_type,
        )
    ]


@operation("kms", "RetireGrant", authorize=_authz_retire)
async def retire_grant(ctx: CallContext, req: dict[str, Any]) -> None:
    """RetireGrant: delete the grant named by a token or by key and grant id."""
    _key, grant = await _find(ctx, req)
    if req.get("DryRun"):
        raise DryRunOperationException()
    await ctx.conn.execute("DELETE FROM kms_grants WHERE grant_id = ?", grant.grant_id)
    return None


async def _authz_revoke(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return await key_scoped("kms:RevokeGrant", allow_alias=False)(ctx, req)


@operation("kms", "RevokeGrant", authorize=_authz_revoke)
async def revoke_grant(ctx: CallContext, req: dict[str, Any]) -> None:
    """RevokeGrant: delete a grant of the key (NotFoundException "Grant ID <id> not found")."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    if req.get("DryRun"):
        raise DryRunOperationException()
    count = await ctx.conn.execute(
        "DELETE FROM kms_grants WHERE grant_id = ? AND key_id = ?", req["GrantId"], key.key_id
    )
    if not count:
        raise NotFoundException(f"Grant ID {req['GrantId']} not found")
    return None
