"""IAM groups and membership."""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import GROUP, USER, authz_entity, delete_conflicts, entity_row
from fleetward.services.iam.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded
from fleetward.storage.db import IntegrityError


@operation("iam", "CreateGroup", authorize=authz_entity("CreateGroup", GROUP))
async def create_group(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    path = store.check_path(req.get("Path"))
    name = req["GroupName"]
    if await ctx.conn.fetchone("SELECT 1 FROM iam_groups WHERE account = ? AND name = ?", ctx.account, name):
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
    group = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    user = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
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
    group = await entity_row(ctx.conn, GROUP, ctx.account, req["GroupName"])
    user = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
    await ctx.conn.execute(
        "DELETE FROM iam_group_members WHERE group_id = ? AND user_id = ?", group["id"], user["id"]
    )
    store.invalidate(ctx.env)
    return {}
