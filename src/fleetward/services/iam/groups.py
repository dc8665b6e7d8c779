"""IAM groups and membership."""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import GROUP, USER, authz_entity, delete_conflicts, entity_row
from fleetward.services.iam.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from fleetward.storage.db import IntegrityError


@operation("iam", "CreateGroup", authorize=authz_entity("CreateGroup", GROUP))
async def create_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    path = store.check_path(req.get("Path"))
    name = req["GroupName"]
    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_groups WHERE account = ? AND lower(name) = lower(?)", ctx.account, name
    ):
        raise EntityAlreadyExists(f"Group with name {name} already exists.")
    gid = store.new_id("AGPA")
    try:
        await ctx.conn.execute(
            "INSERT INTO iam_groups (id, account, name, path, created) VALUES (?, ?, ?, ?, ?)",
            gid,
            ctx.account,
            name,
            path,
            float(ctx.now),
        )
    except IntegrityError:
        raise EntityAlreadyExists(f"Group with name {name} already exists.") from None
    row = await ctx.conn.fetchone("SELECT * FROM iam_groups WHERE id = ?", gid)
    return {"Group": store.group_out(row)}


@operation("iam", "GetGroup", read_only=True, authorize=authz_entity("GetGroup", GROUP))
async def get_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    users = await ctx.conn.fetchall(
        "SELECT u.* FROM iam_users u JOIN iam_group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.name",
        row["id"],
    )
    out = store.page([store.user_out(u) for u in users], req, "Users")
    out["Group"] = store.group_out(row)
    return out


@operation("iam", "ListGroups", read_only=True, authorize=authz_entity("ListGroups", GROUP))
async def list_groups(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("PathPrefix") or "/"
    rows = await ctx.conn.fetchall("SELECT * FROM iam_groups WHERE account = ? ORDER BY name", ctx.account)
    return store.page([store.group_out(r) for r in rows if r["path"].startswith(prefix)], req, "Groups")


@operation("iam", "ListGroupsForUser", read_only=True, authorize=authz_entity("ListGroupsForUser", USER))
async def list_groups_for_user(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    user = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
    rows = await ctx.conn.fetchall(
        "SELECT g.* FROM iam_groups g JOIN iam_group_members m ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.name",
        user["id"],
    )
    return store.page([store.group_out(r) for r in rows], req, "Groups")


@operation("iam", "DeleteGroup", authorize=authz_entity("DeleteGroup", GROUP))
async def delete_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    if await ctx.conn.fetchone("SELECT 1 FROM iam_group_members WHERE group_id = ?", row["id"]):
        raise DeleteConflict("Cannot delete entity, must remove users from group first.")
    await delete_conflicts(ctx, GROUP, row["id"])
    await ctx.conn.execute("DELETE FROM iam_groups WHERE id = ?", row["id"])
    store.invalidate(ctx.env)
    return {}


@operation("iam", "AddUserToGroup", authorize=authz_entity("AddUserToGroup", GROUP))
async def add_user_to_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    # IAM looks the user up first: with neither present, the user is reported.
    user = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
    group = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    count = await ctx.conn.fetchone("SELECT COUNT(*) FROM iam_group_members WHERE user_id = ?", user["id"])
    if count and int(count[0]) >= 10:
        raise LimitExceeded("Cannot exceed quota for GroupsPerUser: 10")
    await ctx.conn.execute(
        "INSERT INTO iam_group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT (group_id, user_id) DO NOTHING",
        group["id"],
        user["id"],
    )
    store.invalidate(ctx.env)
    return {}


@operation("iam", "RemoveUserFromGroup", authorize=authz_entity("RemoveUserFromGroup", GROUP))
async def remove_user_from_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    user = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
    group = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    n = await ctx.conn.execute(
        "DELETE FROM iam_group_members WHERE group_id = ? AND user_id = ?", group["id"], user["id"]
    )
    if not n:
        raise NoSuchEntity(f"User {user['name']} not in group {group['name']}")
    store.invalidate(ctx.env)
    return {}


async def _authz_update_group(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    """iam:UpdateGroup on the group as it is and as it will be (AWS checks both)."""
    row = await ctx.conn.fetchone(
        "SELECT path FROM iam_groups WHERE account = ? AND name = ?", ctx.account, req["GroupName"]
    )
    path = row[0] if row is not None else "/"
    old = store.entity_arn(ctx.account, "group", path, req["GroupName"])
    new = store.entity_arn(
        ctx.account, "group", req.get("NewPath") or path, req.get("NewGroupName") or req["GroupName"]
    )
    return [
        Check("iam:UpdateGroup", arn, resource_type=GROUP.resource_type) for arn in dict.fromkeys((old, new))
    ]


@operation("iam", "UpdateGroup", authorize=_authz_update_group)
async def update_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Rename and/or move a group; members and policies follow (they refer to its id).

    NoSuchEntity for an unknown group, EntityAlreadyExists when the new name is taken."""
    row = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    name = req.get("NewGroupName") or row["name"]
    path = store.check_path(req["NewPath"]) if req.get("NewPath") else row["path"]
    if name != row["name"] and await ctx.conn.fetchone(
        "SELECT 1 FROM iam_groups WHERE account = ? AND lower(name) = lower(?) AND id <> ?",
        ctx.account,
        name,
        row["id"],
    ):
        raise EntityAlreadyExists(f"Group with name {name} already exists.")
    try:
        await ctx.conn.execute("UPDATE iam_groups SET name = ?, path = ? WHERE id = ?", name, path, row["id"])
    except IntegrityError:
        raise EntityAlreadyExists(f"Group with name {name} already exists.") from None
    store.invalidate(ctx.env)
    return {}
