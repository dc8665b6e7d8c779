"""IAM roles and their trust (assume-role) policies."""

from __future__ import annotations

from typing import Any

import orjson

from fleetward.iam.policy import PolicyKind
from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import ROLE, authz_entity, check_tags, delete_conflicts, entity_row
from fleetward.services.iam.errors import DeleteConflict, EntityAlreadyExists, InvalidInput
from fleetward.services.iam.principals import check_trust_principals, follow_principal
from fleetward.storage.db import IntegrityError

MAX_TRUST = 2048


def _check_duration(value: int | None) -> int:
    if value is None:
        return 3600
    if not 3600 <= value <= 43200:
        raise InvalidInput("The MaxSessionDuration must be between 3600 and 43200 seconds.")
    return value


async def _check_trust(ctx: CallContext, doc: str) -> None:
    """IAM's write-time checks of a role trust policy: syntax, size, STS-only
    actions, and principals that exist in the accounts held here."""
    store.compile_document(
        doc,
        kind=PolicyKind.RESOURCE,
        name="AssumeRolePolicyDocument",
        max_length=MAX_TRUST,
        quota="ACLSizePerRole",
        trust=True,
    )
    await check_trust_principals(ctx.conn, doc)


@operation("iam", "CreateRole", authorize=authz_entity("CreateRole", ROLE))
async def create_role(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    path = store.check_path(req.get("Path"))
    name = req["RoleName"]
    trust = req["AssumeRolePolicyDocument"]
    await _check_trust(ctx, trust)
    max_duration = _check_duration(req.get("MaxSessionDuration"))
    tags = check_tags(req.get("Tags"))
    boundary = req.get("PermissionsBoundary")
    if boundary:
        boundary = (await store.boundary_policy(ctx.conn, ctx.account, boundary)).arn
    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_roles WHERE account = ? AND lower(name) = lower(?)", ctx.account, name
    ):
        raise EntityAlreadyExists(f"Role with name {name} already exists.")
    rid = store.new_id("AROA")
    try:
        await ctx.conn.execute(
            "INSERT INTO iam_roles (id, account, name, path, created, trust_policy, description,"
            " max_session_duration, boundary_arn, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rid,
            ctx.account,
            name,
            path,
            float(ctx.now),
            trust,
            req.get("Description"),
            max_duration,
            boundary,
            orjson.dumps(tags).decode(),
        )
    except IntegrityError:
        raise EntityAlreadyExists(f"Role with name {name} already exists.") from None
    row = await ctx.conn.fetchone("SELECT * FROM iam_roles WHERE id = ?", rid)
    store.invalidate(ctx.env)
    return {"Role": store.role_out(row)}


@operation("iam", "GetRole", read_only=True, authorize=authz_entity("GetRole", ROLE))
async def get_role(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    role = store.role_out(row)
    # GetRole alone reports the last use (an empty structure for a role never used).
    role["RoleLastUsed"] = (
        {"LastUsedDate": store.dt(row["last_used"]), "Region": row["last_used_region"]}
        if row["last_used"] is not None
        else {}
    )
    return {"Role": role}


@operation("iam", "ListRoles", read_only=True, authorize=authz_entity("ListRoles", ROLE))
async def list_roles(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("PathPrefix") or "/"
    rows = await ctx.conn.fetchall("SELECT * FROM iam_roles WHERE account = ? ORDER BY name", ctx.account)
    return store.page(
        [store.role_out(r, full=False) for r in rows if r["path"].startswith(prefix)], req, "Roles"
    )


@operation("iam", "DeleteRole", authorize=authz_entity("DeleteRole", ROLE))
async def delete_role(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    if await ctx.conn.fetchone("SELECT 1 FROM iam_instance_profile_roles WHERE role_id = ?", row["id"]):
        raise DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
    await delete_conflicts(ctx, ROLE, row["id"])
    # Sessions of a deleted role stop working at once (their rows join the role).
    await ctx.conn.execute("DELETE FROM sts_sessions WHERE role_id = ?", row["id"])
    await ctx.conn.execute("DELETE FROM iam_roles WHERE id = ?", row["id"])
    await follow_principal(
        ctx.conn, store.entity_arn(ctx.account, "role", row["path"], row["name"]), row["id"]
    )
    store.invalidate(ctx.env)
    return {}


@operation("iam", "UpdateAssumeRolePolicy", authorize=authz_entity("UpdateAssumeRolePolicy", ROLE))
async def update_assume_role_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    doc = req["PolicyDocument"]
    await _check_trust(ctx, doc)
    await ctx.conn.execute("UPDATE iam_roles SET trust_policy = ? WHERE id = ?", doc, row["id"])
    store.invalidate(ctx.env)
    return {}


@operation("iam", "UpdateRole", authorize=authz_entity("UpdateRole", ROLE))
async def update_role(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    if "Description" in req:
        await ctx.conn.execute(
            "UPDATE iam_roles SET description = ? WHERE id = ?", req["Description"], row["id"]
        )
    # As IAM documents it: a MaxSessionDuration left out is set back to the default hour.
    await ctx.conn.execute(
        "UPDATE iam_roles SET max_session_duration = ? WHERE id = ?",
        _check_duration(req.get("MaxSessionDuration")),
        row["id"],
    )
    store.invalidate(ctx.env)
    return {}


@operation("iam", "UpdateRoleDescription", authorize=authz_entity("UpdateRoleDescription", ROLE))
async def update_role_description(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Sets the role's description (the only setting it changes) and returns the role."""
    row = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    await ctx.conn.execute("UPDATE iam_roles SET description = ? WHERE id = ?", req["Description"], row["id"])
    row = await ctx.conn.fetchone("SELECT * FROM iam_roles WHERE id = ?", row["id"])
    store.invalidate(ctx.env)
    return {"Role": store.role_out(row)}
