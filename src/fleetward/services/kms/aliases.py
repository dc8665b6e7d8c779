"""KMS aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

``alias/aws/`` names AWS managed keys and is reserved: users cannot create,
point or delete such aliases (``NotAuthorizedException``, as AWS answers).
Name and target checks run in the ``authorize`` step, before the policy
check, as AWS validates a request before authorizing it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import engine, limit_at_most, page, require_customer_managed, resolve
from fleetward.services.kms.engine import MANAGED_SSM_ALIAS, alias_arn
from fleetward.services.kms.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    KMSInvalidStateException,
    NotAuthorizedException,
    NotFoundException,
)
from fleetward.services.kms.model import KeyRecord, KeyState
from fleetward.storage.db import IntegrityError

RESOURCE_TYPE = "AWS::KMS::Alias"


def _check_name(name: str) -> None:
    """AWS's answers for a bad alias name.

    ValidationException "Invalid identifier" without the ``alias/`` prefix,
    "<name> contains invalid characters for an alias" for a colon (allowed by
    the model's pattern, refused by KMS), InvalidAliasNameException for a bare
    ``alias/``, NotAuthorizedException (no message) for the reserved ``alias/aws/``.
    """
    if not name.startswith("alias/"):
        raise ValidationException("Invalid identifier")
    if ":" in name:
        raise ValidationException(f"{name} contains invalid characters for an alias")
    if name == "alias/":
        raise InvalidAliasNameException('Alias name must not be empty after the prefix "alias/".')
    if name.startswith("alias/aws/"):
        raise NotAuthorizedException()


def _check_target_id(target: str) -> None:
    """An alias points at a key, never at another alias (ValidationException as AWS)."""
    resource = target.split(":", 5)[5] if target.startswith("arn:") and target.count(":") >= 5 else target
    if resource.startswith("alias/"):
        raise ValidationException("Aliases must refer to keys. Not aliases")


def _check_target(key: KeyRecord) -> None:
    require_customer_managed(key, "pointing an alias at it")
    if key.state is KeyState.PENDING_DELETION:
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")


def _kind(key: KeyRecord) -> str:
    if key.symmetric:
        return "symmetric"
    return "HMAC" if key.key_spec.startswith("HMAC_") else "asymmetric"


async def _alias_row(ctx: CallContext, name: str) -> Any:
    return await ctx.conn.fetchone(
        "SELECT name, key_id, created, updated FROM kms_aliases"
        " WHERE account = ? AND region = ? AND name = ?",
        ctx.account,
        ctx.region,
        name,
    )


async def _target_checks(ctx: CallContext, action: str, key: KeyRecord, name: str) -> list[Check]:
    return [
        Check(action, alias_arn(ctx.region, ctx.account, name), resource_type=RESOURCE_TYPE),
        await engine(ctx).check_for(ctx.conn, ctx.account, key, action),
    ]


async def _authz_create(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    _check_name(req["AliasName"])
    _check_target_id(req["TargetKeyId"])
    key = await resolve(ctx, req["TargetKeyId"], allow_alias=False)
    return await _target_checks(ctx, "kms:CreateAlias", key, req["AliasName"])


@operation("kms", "CreateAlias", authorize=_authz_create)
async def create_alias(ctx: CallContext, req: dict[str, Any]) -> None:
    """CreateAlias; InvalidAliasNameException, AlreadyExistsException, NotFoundException."""
    name = req["AliasName"]
    _check_name(name)
    key = await resolve(ctx, req["TargetKeyId"], allow_alias=False)
    _check_target(key)
    if await _alias_row(ctx, name) is not None:
        raise AlreadyExistsException(
            f"An alias with the name {alias_arn(ctx.region, ctx.account, name)} already exists"
        )
    try:
        await ctx.conn.execute(
            "INSERT INTO kms_aliases (account, region, name, key_id, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ctx.account,
            ctx.region,
            name,
            key.key_id,
            float(ctx.now),
            float(ctx.now),
        )
    except IntegrityError as e:
        raise AlreadyExistsException(
            f"An alias with the name {alias_arn(ctx.region, ctx.account, name)} already exists"
        ) from e
    return None


async def _authz_update(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    name = req["AliasName"]
    _check_name(name)
    _check_target_id(req["TargetKeyId"])
    key = await resolve(ctx, req["TargetKeyId"], allow_alias=False)
    checks = await _target_checks(ctx, "kms:UpdateAlias", key, name)
    row = await _alias_row(ctx, name)
    if row is not None:
        old = await engine(ctx).get(ctx.conn, row["key_id"])
        if old is not None:
            checks.append(await engine(ctx).check_for(ctx.conn, ctx.account, old, "kms:UpdateAlias"))
    return checks


@operation("kms", "UpdateAlias", authorize=_authz_update)
async def update_alias(ctx: CallContext, req: dict[str, Any]) -> None:
    """UpdateAlias: point an existing alias at another key of the same type and key usage.

    ValidationException when the new key differs in type (symmetric, asymmetric,
    HMAC) or key usage from the current one, as AWS requires.
    """
    name = req["AliasName"]
    _check_name(name)
    key = await resolve(ctx, req["TargetKeyId"], allow_alias=False)
    _check_target(key)
    row = await _alias_row(ctx, name)
    if row is None:
        raise NotFoundException(f"Alias {alias_arn(ctx.region, ctx.account, name)} is not found.")
    current = await engine(ctx).get(ctx.conn, row["key_id"])
    if current is not None and (_kind(current), current.key_usage) != (_kind(key), key.key_usage):
        raise ValidationException(
            f"{alias_arn(ctx.region, ctx.account, name)} points to a {_kind(current)} {current.key_usage} key;"
            f" it can only be updated to a key of the same type and key usage, not {_kind(key)} {key.key_usage}."
        )
    await ctx.conn.execute(
        "UPDATE kms_aliases SET key_id = ?, updated = ? WHERE account = ? AND region = ? AND name = ?",
        key.key_id,
        float(ctx.now),
        ctx.account,
        ctx.region,
        name,
    )
    return None


async def _authz_delete(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    name = req["AliasName"]
    _check_name(name)
    checks = [Check("kms:DeleteAlias", alias_arn(ctx.region, ctx.account, name), resource_type=RESOURCE_TYPE)]
    row = await _alias_row(ctx, name)
    if row is not None:
        key = await engine(ctx).get(ctx.conn, row["key_id"])
        if key is not None:
            checks.append(await engine(ctx).check_for(ctx.conn, ctx.account, key, "kms:DeleteAlias"))
    return checks


@operation("kms", "DeleteAlias", authorize=_authz_delete)
async def delete_alias(ctx: CallContext, req: dict[str, Any]) -> None:
    name = req["AliasName"]
    _check_name(name)
    count = await ctx.conn.execute(
        "DELETE FROM kms_aliases WHERE account = ? AND region = ? AND name = ?",
        ctx.account,
        ctx.region,
        name,
    )
    if not count:
        raise NotFoundException(f"Alias {alias_arn(ctx.region, ctx.account, name)} is not found.")
    return None


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _alias_entry(ctx: CallContext, row: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "AliasName": row["name"],
        "AliasArn": alias_arn(ctx.region, ctx.account, row["name"]),
    }
    if row["key_id"] is not None:  # None: a predefined alias not yet associated with a key
        entry["TargetKeyId"] = row["key_id"]
        entry["CreationDate"] = _dt(float(row["created"]))
        entry["LastUpdatedDate"] = _dt(float(row["updated"]))
    return entry


@operation("kms", "ListAliases", read_only=True)
async def list_aliases(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Aliases of the account and region, by name; KeyId (id or key ARN) filters by key.

    Unfiltered, the list includes ``alias/aws/ssm`` before its AWS managed key
    is created, without ``TargetKeyId``, as AWS lists its predefined aliases.
    """
    limit = limit_at_most(req.get("Limit"), 100) or 50
    sql = "SELECT name, key_id, created, updated FROM kms_aliases WHERE account = ? AND region = ?"
    args: list[Any] = [ctx.account, ctx.region]
    if req.get("KeyId"):
        key = await resolve(ctx, req["KeyId"], allow_alias=False)
        sql += " AND key_id = ?"
        args.append(key.key_id)
    else:
        # In SQL, so that it sorts and pages under the database's own collation.
        sql += (
            " UNION ALL SELECT CAST(? AS TEXT), NULL, NULL, NULL WHERE NOT EXISTS"
            " (SELECT 1 FROM kms_aliases WHERE account = ? AND region = ? AND name = ?)"
        )
        args += [MANAGED_SSM_ALIAS, ctx.account, ctx.region, MANAGED_SSM_ALIAS]
    rows = await ctx.conn.fetchall(
        f"SELECT * FROM ({sql}) AS a WHERE name > ? ORDER BY name LIMIT ?",
        *args,
        req.get("Marker") or "",
        limit + 1,
    )
    items, more = page(rows, limit, 50)
    out: dict[str, Any] = {"Aliases": [_alias_entry(ctx, r) for r in items], "Truncated": more}
    if more:
        out["NextMarker"] = items[-1]["name"]
    return out
