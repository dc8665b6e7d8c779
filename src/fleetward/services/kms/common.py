"""Helpers shared by the KMS operation modules: the engine, key-scoped checks, paging, tags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check
from fleetward.services.context import CallContext
from fleetward.services.kms.engine import KeyService
from fleetward.services.kms.errors import LimitExceededException, TagException, UnsupportedOperationException
from fleetward.services.kms.grant_rules import validate_grant_tokens
from fleetward.services.kms.model import KeyManager, KeyRecord

__all__ = [
    "engine",
    "key_scoped",
    "limit_at_most",
    "page",
    "require_customer_managed",
    "resolve",
    "tag_keys",
    "validate_tags",
]

MAX_TAGS = 50


def engine(ctx: CallContext) -> KeyService:
    svc: KeyService = ctx.env.extras["kms"]
    return svc


async def resolve(ctx: CallContext, key_id: str, *, allow_alias: bool = True) -> KeyRecord:
    """The key named in a request (NotFoundException as AWS)."""
    return await engine(ctx).resolve(
        ctx.conn, ctx.account, ctx.region, key_id, allow_alias=allow_alias, now=ctx.now
    )


def key_scoped(
    action: str, *, field: str = "KeyId", allow_alias: bool = True, context_field: str | None = None
) -> Callable[[CallContext, dict[str, Any]], Awaitable[list[Check]]]:
    """An ``authorize`` for an operation on the key named by ``req[field]``.

    Grant tokens in the request must be well formed (InvalidGrantTokenException).
    """

    async def authorize(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        validate_grant_tokens(req)
        key = await resolve(ctx, req[field], allow_alias=allow_alias)
        context = req.get(context_field) if context_field else None
        return [await engine(ctx).check_for(ctx.conn, ctx.account, key, action, context=context)]

    return authorize


def require_customer_managed(key: KeyRecord, operation: str) -> None:
    """AWS managed keys are not changed by users: UnsupportedOperationException."""
    if key.key_manager is KeyManager.AWS:
        raise UnsupportedOperationException(
            f"{key.arn} is an AWS managed key; {operation} is not supported on it."
        )


def page(items: Sequence[Any], limit: int | None, default: int) -> tuple[list[Any], bool]:
    """First ``limit`` items and whether more remain (items fetched with one extra)."""
    size = limit or default
    return list(items[:size]), len(items) > size


def validate_tags(tags: Sequence[dict[str, str]], existing: int = 0) -> list[tuple[str, str]]:
    """Tags of a request as pairs; TagException / LimitExceededException as AWS."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tag in tags:
        k, v = tag["TagKey"], tag["TagValue"]
        if k.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved.")
        if k in seen:
            raise TagException(f"Duplicate tag keys: {k}")
        seen.add(k)
        pairs.append((k, v))
    if len(pairs) + existing > MAX_TAGS:
        raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
    return pairs


def tag_keys(tags: Sequence[dict[str, str]]) -> dict[str, Any]:
    """``aws:RequestTag/<k>`` and ``aws:TagKeys`` condition keys for a request's tags."""
    if not tags:
        return {}
    keys: dict[str, Any] = {f"aws:requesttag/{t['TagKey'].lower()}": t["TagValue"] for t in tags}
    keys["aws:tagkeys"] = [t["TagKey"] for t in tags]
    return keys


def limit_at_most(value: int | None, maximum: int) -> int | None:
    """A list call's ``Limit``; past ``maximum`` (the operation's documented range,
    narrower than the shape's), AWS's constraint ValidationException."""
    if value is not None and value > maximum:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {maximum}"
        )
    return value


def positive_limit(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ValidationException("Limit must be at least 1")
    return value
