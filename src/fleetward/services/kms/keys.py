"""KMS key life cycle: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, Enable/DisableKey, deletion."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fleetward.crypto.kms_keys import HMAC_SPECS
from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import (
    engine,
    key_scoped,
    page,
    require_customer_managed,
    resolve,
    tag_keys,
    validate_tags,
)
from fleetward.services.kms.engine import key_arn
from fleetward.services.kms.errors import (
    KMSInvalidStateException,
    MalformedPolicyDocumentException,
    UnsupportedOperationException,
)
from fleetward.services.kms.keypolicy import (
    LOCKOUT_MESSAGE,
    check_principals,
    compile_key_policy,
    would_lock_out,
)
from fleetward.services.kms.model import (
    DAY,
    ENCRYPT_DECRYPT,
    GENERATE_VERIFY_MAC,
    SIGN_VERIFY,
    SYMMETRIC_DEFAULT,
    KeyEvent,
    KeyState,
)

MIN_WINDOW, MAX_WINDOW, DEFAULT_WINDOW = 7, 30, 30


async def _authz_create(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    keys = tag_keys(req.get("Tags") or [])
    checks = [Check("kms:CreateKey", keys=keys or None)]
    if req.get("Tags"):
        checks.append(Check("kms:TagResource", keys=keys))
    return checks


# Key usages each key spec may take (KEY_AGREEMENT and SM2 are not provided).
_USAGES = {
    SYMMETRIC_DEFAULT: (ENCRYPT_DECRYPT,),
    **{spec: (ENCRYPT_DECRYPT, SIGN_VERIFY) for spec in ("RSA_2048", "RSA_3072", "RSA_4096")},
    **{
        spec: (SIGN_VERIFY,)
        for spec in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1")
    },
    **{spec: (GENERATE_VERIFY_MAC,) for spec in HMAC_SPECS},
}


def _check_spec(req: dict[str, Any]) -> tuple[str, str]:
    """The (key spec, key usage) a CreateKey asks for, checked as AWS does."""
    spec, legacy = req.get("KeySpec"), req.get("CustomerMasterKeySpec")
    if spec and legacy:
        raise ValidationException(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
            "CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead."
        )
    chosen = spec or legacy or SYMMETRIC_DEFAULT
    usage = req.get("KeyUsage") or ENCRYPT_DECRYPT
    if chosen not in _USAGES:
        raise UnsupportedOperationException(f"KeySpec {chosen} is not supported by fleetward.")
    if usage == "KEY_AGREEMENT" and chosen.startswith("ECC_NIST"):
        raise UnsupportedOperationException("KeyUsage KEY_AGREEMENT is not supported by fleetward.")
    if usage not in _USAGES[chosen]:
        raise ValidationException(f"KeyUsage {usage} is not compatible with KeySpec {chosen}.")
    if (req.get("Origin") or "AWS_KMS") != "AWS_KMS":
        raise UnsupportedOperationException(
            f"Origin {req['Origin']} is not supported: fleetward generates key material (AWS_KMS)."
        )
    if req.get("CustomKeyStoreId") or req.get("XksKeyId"):
        raise UnsupportedOperationException("Custom key stores are not supported by fleetward.")
    if req.get("MultiRegion"):
        raise UnsupportedOperationException("Multi-Region keys are not supported by fleetward.")
    return chosen, usage


@operation("kms", "CreateKey", authorize=_authz_create)
async def create_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """CreateKey: a symmetric, RSA, ECC or HMAC key with the given or the default key policy.

    Raises ValidationException (a key usage the spec does not allow),
    UnsupportedOperationException (SM2, KEY_AGREEMENT, other origins, stores, Multi-Region),
    MalformedPolicyDocumentException (bad policy, a user or role that does not
    exist, or one locking the caller out without BypassPolicyLockoutSafetyCheck),
    TagException.
    """
    spec, usage = _check_spec(req)
    kid = str(uuid.uuid4())
    policy = req.get("Policy")
    if policy is not None:
        compiled = compile_key_policy(policy)
        await check_principals(ctx.conn, policy)
        arn = key_arn(ctx.region, ctx.account, kid)
        if not req.get("BypassPolicyLockoutSafetyCheck") and would_lock_out(
            compiled, arn, ctx.principal.arn, ctx.account
        ):
            raise MalformedPolicyDocumentException(LOCKOUT_MESSAGE)
    tags = validate_tags(req.get("Tags") or [])
    key = await engine(ctx).create_key(
        ctx.conn,
        ctx.account,
        ctx.region,
        ctx.now,
        description=req.get("Description") or "",
        policy=policy,
        tags=tags,
        key_id=kid,
        key_spec=spec,
        key_usage=usage,
    )
    ctx.resources = [{"ARN": key.arn, "type": "AWS::KMS::Key"}]
    return {"KeyMetadata": key.metadata()}


@operation("kms", "DescribeKey", read_only=True, authorize=key_scoped("kms:DescribeKey"))
async def describe_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    key = await resolve(ctx, req["KeyId"])
    return {"KeyMetadata": key.metadata()}


@operation("kms", "ListKeys", read_only=True)
async def list_keys(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    limit = req.get("Limit") or 100
    rows = await ctx.conn.fetchall(
        "SELECT key_id, arn FROM kms_keys WHERE account = ? AND region = ? AND key_id > ?"
        " ORDER BY key_id LIMIT ?",
        ctx.account,
        ctx.region,
        req.get("Marker") or "",
        limit + 1,
    )
    items, more = page(rows, limit, 100)
    out: dict[str, Any] = {
        "Keys": [{"KeyId": r["key_id"], "KeyArn": r["arn"]} for r in items],
        "Truncated": more,
    }
    if more:
        out["NextMarker"] = items[-1]["key_id"]
    return out


@operation("kms", "EnableKey", authorize=key_scoped("kms:EnableKey", allow_alias=False))
async def enable_key(ctx: CallContext, req: dict[str, Any]) -> None:
    """EnableKey: Disabled -> Enabled (idempotent); KMSInvalidStateException when pending deletion."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "EnableKey")
    updated = key.after(KeyEvent.ENABLE)
    if updated.state is not key.state:
        await engine(ctx).save_state(ctx.conn, updated)
    return None


@operation("kms", "DisableKey", authorize=key_scoped("kms:DisableKey", allow_alias=False))
async def disable_key(ctx: CallContext, req: dict[str, Any]) -> None:
    """DisableKey: Enabled -> Disabled (idempotent); KMSInvalidStateException when pending
    deletion (the key stays pending deletion: only CancelKeyDeletion ends that)."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "DisableKey")
    updated = key.after(KeyEvent.DISABLE)
    if updated.state is not key.state:
        await engine(ctx).save_state(ctx.conn, updated)
    return None


@operation(
    "kms",
    "ScheduleKeyDeletion",
    authorize=key_scoped("kms:ScheduleKeyDeletion", allow_alias=False),
)
async def schedule_key_deletion(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """ScheduleKeyDeletion: PendingDeletion for 7..30 days (default 30), then destroyed."""
    window = req.get("PendingWindowInDays")
    if window is None:
        window = DEFAULT_WINDOW
    if window < MIN_WINDOW:
        raise ValidationException(
            f"1 validation error detected: Value '{window}' at 'pendingWindowInDays' failed to "
            f"satisfy constraint: Member must have value greater than or equal to {MIN_WINDOW}"
        )
    if window > MAX_WINDOW:
        raise ValidationException(
            f"1 validation error detected: Value '{window}' at 'pendingWindowInDays' failed to "
            f"satisfy constraint: Member must have value less than or equal to {MAX_WINDOW}"
        )
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "ScheduleKeyDeletion")
    deletion = float(ctx.now) + window * DAY
    updated = replace(key.after(KeyEvent.SCHEDULE_DELETION), deletion_date=deletion, pending_window=window)
    await engine(ctx).save_state(ctx.conn, updated)
    return {
        "KeyId": key.arn,
        "DeletionDate": datetime.fromtimestamp(deletion, UTC),
        "KeyState": str(KeyState.PENDING_DELETION),
        "PendingWindowInDays": window,
    }


@operation("kms", "CancelKeyDeletion", authorize=key_scoped("kms:CancelKeyDeletion", allow_alias=False))
async def cancel_key_deletion(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """CancelKeyDeletion: PendingDeletion -> Disabled, as AWS does; KMSInvalidStateException
    ("<arn> is not pending deletion.") for a key that is not pending deletion."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    updated = replace(key.after(KeyEvent.CANCEL_DELETION), deletion_date=None, pending_window=None)
    await engine(ctx).save_state(ctx.conn, updated)
    return {"KeyId": key.arn}


@operation(
    "kms",
    "UpdateKeyDescription",
    authorize=key_scoped("kms:UpdateKeyDescription", allow_alias=False),
)
async def update_key_description(ctx: CallContext, req: dict[str, Any]) -> None:
    """Replace the key's description (an empty one is allowed).

    NotFoundException (aliases are not accepted), UnsupportedOperationException
    on AWS managed keys, KMSInvalidStateException while pending deletion.
    """
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "UpdateKeyDescription")
    if key.state is KeyState.PENDING_DELETION:
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
    await ctx.conn.execute(
        "UPDATE kms_keys SET description = ? WHERE key_id = ?", req["Description"], key.key_id
    )
    return None
