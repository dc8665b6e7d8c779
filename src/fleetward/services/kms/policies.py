"""Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies (one policy, named "default")."""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import key_scoped, require_customer_managed, resolve
from fleetward.services.kms.errors import MalformedPolicyDocumentException, NotFoundException
from fleetward.services.kms.keypolicy import (
    LOCKOUT_MESSAGE,
    check_principals,
    compile_key_policy,
    would_lock_out,
)

POLICY_NAME = "default"


def _policy_name(req: dict[str, Any]) -> str:
    """The request's PolicyName (default "default"); a key has no other: NotFoundException."""
    name = req.get("PolicyName") or POLICY_NAME
    if name != POLICY_NAME:
        raise NotFoundException("No such policy exists")
    return name


@operation(
    "kms",
    "GetKeyPolicy",
    read_only=True,
    authorize=key_scoped("kms:GetKeyPolicy", allow_alias=False),
)
async def get_key_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    name = _policy_name(req)
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    return {"Policy": key.policy, "PolicyName": name}


@operation("kms", "PutKeyPolicy", authorize=key_scoped("kms:PutKeyPolicy", allow_alias=False))
async def put_key_policy(ctx: CallContext, req: dict[str, Any]) -> None:
    """Replace the key policy.

    MalformedPolicyDocumentException for an invalid document, one naming a
    user or role that does not exist, or one that would not let the caller
    call PutKeyPolicy again (unless
    BypassPolicyLockoutSafetyCheck); UnsupportedOperationException on AWS managed keys.
    """
    _policy_name(req)
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "PutKeyPolicy")
    text = req["Policy"]
    compiled = compile_key_policy(text)
    await check_principals(ctx.conn, text)
    if not req.get("BypassPolicyLockoutSafetyCheck") and would_lock_out(
        compiled, key.arn, ctx.principal.arn, ctx.account
    ):
        raise MalformedPolicyDocumentException(LOCKOUT_MESSAGE)
    await ctx.conn.execute(
        "UPDATE kms_keys SET policy = ?, policy_version = policy_version + 1 WHERE key_id = ?",
        text,
        key.key_id,
    )
    return None


@operation(
    "kms",
    "ListKeyPolicies",
    read_only=True,
    authorize=key_scoped("kms:ListKeyPolicies", allow_alias=False),
)
async def list_key_policies(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await resolve(ctx, req["KeyId"], allow_alias=False)
    return {"PolicyNames": [POLICY_NAME], "Truncated": False}
