"""Key tags: TagResource, UntagResource, ListResourceTags."""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import (
    engine,
    key_scoped,
    limit_at_most,
    page,
    require_customer_managed,
    resolve,
    tag_keys,
    validate_tags,
)
from fleetward.services.kms.errors import KMSInvalidStateException, TagException
from fleetward.services.kms.model import KeyRecord, KeyState


def _taggable(key: KeyRecord) -> None:
    require_customer_managed(key, "tagging")
    if key.state is KeyState.PENDING_DELETION:
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")


async def _authz_tag(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    check = await engine(ctx).check_for(ctx.conn, ctx.account, key, "kms:TagResource")
    keys = {**(check.keys or {}), **tag_keys(req["Tags"])}
    return [
        Check(
            check.action,
            check.resource,
            keys=keys,
            resource_policy=check.resource_policy,
            resource_policy_required=True,
            resource_account=check.resource_account,
            resource_type=check.resource_type,
        )
    ]


@operation("kms", "TagResource", authorize=_authz_tag)
async def tag_resource(ctx: CallContext, req: dict[str, Any]) -> None:
    """Add or overwrite tags; TagException for ``aws:`` keys, LimitExceededException past 50."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    _taggable(key)
    existing = dict(await engine(ctx).tags(ctx.conn, key.key_id))
    pairs = validate_tags(req["Tags"])
    new_keys = {k for k, _ in pairs} - set(existing)
    validate_tags([], existing=len(existing) + len(new_keys))
    for k, v in pairs:
        await ctx.conn.execute(
            "INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)"
            " ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
            key.key_id,
            k,
            v,
        )
    return None


async def _authz_untag(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    check = await engine(ctx).check_for(ctx.conn, ctx.account, key, "kms:UntagResource")
    keys = {**(check.keys or {}), "aws:tagkeys": list(req["TagKeys"])}
    return [
        Check(
            check.action,
            check.resource,
            keys=keys,
            resource_policy=check.resource_policy,
            resource_policy_required=True,
            resource_account=check.resource_account,
            resource_type=check.resource_type,
        )
    ]


@operation("kms", "UntagResource", authorize=_authz_untag)
async def untag_resource(ctx: CallContext, req: dict[str, Any]) -> None:
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    _taggable(key)
    for k in req["TagKeys"]:
        if k.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved.")
        await ctx.conn.execute("DELETE FROM kms_tags WHERE key_id = ? AND tag_key = ?", key.key_id, k)
    return None


@operation(
    "kms",
    "ListResourceTags",
    read_only=True,
    authorize=key_scoped("kms:ListResourceTags", allow_alias=False),
)
async def list_resource_tags(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    limit = limit_at_most(req.get("Limit"), 50) or 50
    marker = req.get("Marker") or ""
    tags = [(k, v) for k, v in await engine(ctx).tags(ctx.conn, key.key_id) if k > marker]
    items, more = page(tags, limit, 50)
    out: dict[str, Any] = {
        "Tags": [{"TagKey": k, "TagValue": v} for k, v in items],
        "Truncated": more,
    }
    if more:
        out["NextMarker"] = items[-1][0]
    return out
