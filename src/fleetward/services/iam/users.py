"""IAM users and their access keys."""

from __future__ import annotations

from typing import Any

import orjson

from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import (
    USER,
    authz_entity,
    check_tags,
    delete_conflicts,
    entity_row,
    target_name,
)
from fleetward.services.iam.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from fleetward.services.iam.principals import follow_principal
from fleetward.storage.db import Conn, IntegrityError

MAX_ACCESS_KEYS = 2


async def create_user_row(
    conn: Conn, account: str, name: str, path: str, now: float, tags: list[dict[str, str]] | None = None
) -> Any:
    """Insert a user; EntityAlreadyExists when the name is taken in any case: IAM's
    names (users, groups, roles, policies, instance profiles) are not distinguished
    by case. Used by ``fleetward init`` too."""
    if await conn.fetchone(
        "SELECT 1 FROM iam_users WHERE account = ? AND lower(name) = lower(?)", account, name
    ):
        raise EntityAlreadyExists(f"User with name {name} already exists.")
    uid = store.new_id("AIDA")
    try:
        await conn.execute(
            "INSERT INTO iam_users (id, account, name, path, created, boundary_arn, tags) VALUES (?, ?, ?, ?, ?, ?, ?)",
            uid,
            account,
            name,
            path,
            float(now),
            None,
            orjson.dumps(tags or []).decode(),
        )
    except IntegrityError:
        raise EntityAlreadyExists(f"User with name {name} already exists.") from None
    return await conn.fetchone("SELECT * FROM iam_users WHERE id = ?", uid)


async def create_access_key_row(
    conn: Conn, keyring: Any, account: str, user_id: str, now: float
) -> tuple[str, str]:
    """A new Active key for ``user_id``: returns (access key id, secret); the secret
    is stored only wrapped by the root keyring (AAD: the access key id)."""
    count = await conn.fetchone("SELECT COUNT(*) FROM iam_access_keys WHERE user_id = ?", user_id)
    if count and int(count[0]) >= MAX_ACCESS_KEYS:
        raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}")
    key_id = store.new_access_key_id("AKIA")
    secret = store.new_secret()
    await conn.execute(
        "INSERT INTO iam_access_keys (access_key_id, account, user_id, secret, status, created) VALUES (?, ?, ?, ?, ?, ?)",
        key_id,
        account,
        user_id,
        keyring.wrap(secret.encode(), aad=key_id.encode()),
        "Active",
        float(now),
    )
    return key_id, secret


@operation("iam", "CreateUser", authorize=authz_entity("CreateUser", USER))
async def create_user(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    path = store.check_path(req.get("Path"))
    tags = check_tags(req.get("Tags"))
    row = await create_user_row(ctx.conn, ctx.account, req["UserName"], path, ctx.now, tags)
    boundary = req.get("PermissionsBoundary")
    if boundary:
        policy = await store.boundary_policy(ctx.conn, ctx.account, boundary)
        await ctx.conn.execute("UPDATE iam_users SET boundary_arn = ? WHERE id = ?", policy.arn, row["id"])
        row = await ctx.conn.fetchone("SELECT * FROM iam_users WHERE id = ?", row["id"])
    store.invalidate(ctx.env)
    return {"User": store.user_out(row)}


@operation("iam", "GetUser", read_only=True, authorize=authz_entity("GetUser", USER))
async def get_user(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, USER, ctx.account, target_name(ctx, USER, req))
    return {"User": store.user_out(row)}


@operation("iam", "ListUsers", read_only=True, authorize=authz_entity("ListUsers", USER))
async def list_users(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("PathPrefix") or "/"
    rows = await ctx.conn.fetchall("SELECT * FROM iam_users WHERE account = ? ORDER BY name", ctx.account)
    users = [store.user_out(r) for r in rows if r["path"].startswith(prefix)]
    for u in users:
        u.pop("Tags", None)
        u.pop("PermissionsBoundary", None)
    return store.page(users, req, "Users")


@operation("iam", "DeleteUser", authorize=authz_entity("DeleteUser", USER))
async def delete_user(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
    if await ctx.conn.fetchone("SELECT 1 FROM iam_access_keys WHERE user_id = ?", row["id"]):
        raise DeleteConflict("Cannot delete entity, must delete access keys first.")
    await delete_conflicts(ctx, USER, row["id"])
    if await ctx.conn.fetchone("SELECT 1 FROM iam_group_members WHERE user_id = ?", row["id"]):
        raise DeleteConflict("Cannot delete entity, must remove users from group first.")
    await ctx.conn.execute("DELETE FROM sts_user_sessions WHERE user_id = ?", row["id"])
    await ctx.conn.execute("DELETE FROM iam_users WHERE id = ?", row["id"])
    await follow_principal(
        ctx.conn, store.entity_arn(ctx.account, "user", row["path"], row["name"]), row["id"]
    )
    store.invalidate(ctx.env)
    return {}


async def _authz_update_user(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    """iam:UpdateUser on the user as it is and as it will be (AWS checks both)."""
    row = await ctx.conn.fetchone(
        "SELECT path FROM iam_users WHERE account = ? AND name = ?", ctx.account, req["UserName"]
    )
    path = row[0] if row is not None else "/"
    old = store.entity_arn(ctx.account, "user", path, req["UserName"])
    new = store.entity_arn(
        ctx.account, "user", req.get("NewPath") or path, req.get("NewUserName") or req["UserName"]
    )
    return [
        Check("iam:UpdateUser", arn, resource_type=USER.resource_type) for arn in dict.fromkeys((old, new))
    ]


@operation("iam", "UpdateUser", authorize=_authz_update_user)
async def update_user(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Rename and/or move a user; keys, groups and policies follow (they refer to its id),
    and so do role trust policies naming it (:mod:`~fleetward.services.iam.principals`).

    NoSuchEntity for an unknown user, EntityAlreadyExists when the new name is taken."""
    row = await entity_row(ctx.conn, USER, ctx.account, req["UserName"])
    name = req.get("NewUserName") or row["name"]
    path = store.check_path(req["NewPath"]) if req.get("NewPath") else row["path"]
    if name != row["name"] and await ctx.conn.fetchone(
        "SELECT 1 FROM iam_users WHERE account = ? AND lower(name) = lower(?) AND id <> ?",
        ctx.account,
        name,
        row["id"],
    ):
        raise EntityAlreadyExists(f"User with name {name} already exists.")
    try:
        await ctx.conn.execute("UPDATE iam_users SET name = ?, path = ? WHERE id = ?", name, path, row["id"])
    except IntegrityError:
        raise EntityAlreadyExists(f"User with name {name} already exists.") from None
    old_arn = store.entity_arn(ctx.account, "user", row["path"], row["name"])
    new_arn = store.entity_arn(ctx.account, "user", path, name)
    if new_arn != old_arn:
        await follow_principal(ctx.conn, old_arn, new_arn)
    store.invalidate(ctx.env)
    return {}


# ------------------------------------------------------------ access keys


def _key_out(user: str, row: Any) -> dict[str, Any]:
    return {
        "UserName": user,
        "AccessKeyId": row["access_key_id"],
        "Status": row["status"],
        "CreateDate": store.dt(row["created"]),
    }


@operation(
    "iam", "CreateAccessKey", authorize=authz_entity("CreateAccessKey", USER), hidden={"SecretAccessKey"}
)
async def create_access_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, USER, ctx.account, target_name(ctx, USER, req))
    key_id, secret = await create_access_key_row(ctx.conn, ctx.env.keyring, ctx.account, row["id"], ctx.now)
    return {
        "AccessKey": {
            "UserName": row["name"],
            "AccessKeyId": key_id,
            "Status": "Active",
            "SecretAccessKey": secret,
            "CreateDate": store.dt(ctx.now),
        }
    }


@operation("iam", "ListAccessKeys", read_only=True, authorize=authz_entity("ListAccessKeys", USER))
async def list_access_keys(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, USER, ctx.account, target_name(ctx, USER, req))
    keys = await ctx.conn.fetchall(
        "SELECT access_key_id, status, created FROM iam_access_keys WHERE user_id = ? ORDER BY created",
        row["id"],
    )
    return store.page([_key_out(row["name"], k) for k in keys], req, "AccessKeyMetadata")


async def _owned_key(ctx: CallContext, req: dict[str, Any]) -> tuple[Any, Any]:
    user = await entity_row(ctx.conn, USER, ctx.account, target_name(ctx, USER, req))
    key = await ctx.conn.fetchone(
        "SELECT * FROM iam_access_keys WHERE access_key_id = ? AND user_id = ?",
        req["AccessKeyId"],
        user["id"],
    )
    if key is None:
        raise NoSuchEntity(f"The Access Key with id {req['AccessKeyId']} cannot be found.")
    return user, key


@operation("iam", "UpdateAccessKey", authorize=authz_entity("UpdateAccessKey", USER))
async def update_access_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    _, key = await _owned_key(ctx, req)
    await ctx.conn.execute(
        "UPDATE iam_access_keys SET status = ? WHERE access_key_id = ?", req["Status"], key["access_key_id"]
    )
    store.invalidate(ctx.env)
    return {}


@operation("iam", "DeleteAccessKey", authorize=authz_entity("DeleteAccessKey", USER))
async def delete_access_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    _, key = await _owned_key(ctx, req)
    await ctx.conn.execute("DELETE FROM iam_access_keys WHERE access_key_id = ?", key["access_key_id"])
    store.invalidate(ctx.env)
    return {}


async def _authz_key_last_used(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    """iam:GetAccessKeyLastUsed on the key's user (``*`` for a key of no user here)."""
    row = await ctx.conn.fetchone(
        "SELECT u.path, u.name FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id"
        " WHERE k.access_key_id = ? AND k.account = ?",
        req["AccessKeyId"],
        ctx.account,
    )
    arn = store.entity_arn(ctx.account, "user", row[0], row[1]) if row is not None else "*"
    return [Check("iam:GetAccessKeyLastUsed", arn, resource_type=USER.resource_type)]


@operation("iam", "GetAccessKeyLastUsed", read_only=True, authorize=_authz_key_last_used)
async def get_access_key_last_used(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The key's user and when, with which service and in which region the key was last
    used (``N/A`` and no date when never used). NoSuchEntity for an unknown key."""
    row = await ctx.conn.fetchone(
        "SELECT u.name, k.last_used, k.last_used_service, k.last_used_region"
        " FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id"
        " WHERE k.access_key_id = ? AND k.account = ?",
        req["AccessKeyId"],
        ctx.account,
    )
    if row is None:
        raise NoSuchEntity(f"The Access Key with id {req['AccessKeyId']} cannot be found.")
    if row[1] is None:
        return {"UserName": row[0], "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
    used = {"LastUsedDate": store.dt(row[1]), "ServiceName": row[2], "Region": row[3]}
    return {"UserName": row[0], "AccessKeyLastUsed": used}
