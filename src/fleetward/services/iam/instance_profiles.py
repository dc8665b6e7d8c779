"""IAM instance profiles: a named container for (at most) one role, which a managed
node uses to obtain that role's credentials.

Authorization: ``iam:<Operation>`` on
``arn:aws:iam::<account>:instance-profile<path><name>`` (listing: the
``PathPrefix``); putting a role into a profile also needs ``iam:PassRole`` on the
role, as in AWS; ``ListInstanceProfilesForRole`` acts on the role.
"""

from __future__ import annotations

from typing import Any

import orjson

from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import ROLE, Authz, check_tags, drop_tags, entity_row, merge_tags
from fleetward.services.iam.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from fleetward.storage.db import IntegrityError

RESOURCE_TYPE = "AWS::IAM::InstanceProfile"
MAX_ROLES = 1


def profile_arn(account: str, path: str, name: str) -> str:
    return store.entity_arn(account, "instance-profile", path, name)


async def _profile_row(ctx: CallContext, name: str) -> Any:
    row = await ctx.conn.fetchone(
        "SELECT * FROM iam_instance_profiles WHERE account = ? AND name = ?", ctx.account, name
    )
    if row is None:
        raise NoSuchEntity(f"Instance Profile {name} cannot be found.")
    return row


async def _profile_out(ctx: CallContext, row: Any, *, tags: bool = False) -> dict[str, Any]:
    roles = await ctx.conn.fetchall(
        "SELECT r.* FROM iam_roles r JOIN iam_instance_profile_roles p ON p.role_id = r.id"
        " WHERE p.profile_id = ? ORDER BY r.name",
        row["id"],
    )
    out: dict[str, Any] = {
        "Path": row["path"],
        "InstanceProfileName": row["name"],
        "InstanceProfileId": row["id"],
        "Arn": profile_arn(row["account"], row["path"], row["name"]),
        "CreateDate": store.dt(row["created"]),
        "Roles": [store.role_out(r, full=False) for r in roles],
    }
    found = store.load_tags(row["tags"]) if tags else []
    if found:
        out["Tags"] = found
    return out


def _authz(op: str, *, pass_role: bool = False) -> Authz:
    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        if op == "ListInstanceProfiles":
            arn = profile_arn(ctx.account, req.get("PathPrefix") or "/", "")
            return [Check(f"iam:{op}", arn, resource_type=RESOURCE_TYPE)]
        name = req["InstanceProfileName"]
        row = await ctx.conn.fetchone(
            "SELECT path FROM iam_instance_profiles WHERE account = ? AND name = ?", ctx.account, name
        )
        path = row[0] if row is not None else req.get("Path") or "/"
        checks = [Check(f"iam:{op}", profile_arn(ctx.account, path, name), resource_type=RESOURCE_TYPE)]
        if pass_role:
            role = await ctx.conn.fetchone(
                "SELECT path FROM iam_roles WHERE account = ? AND name = ?", ctx.account, req["RoleName"]
            )
            role_path = role[0] if role is not None else "/"
            role_arn = store.entity_arn(ctx.account, "role", role_path, req["RoleName"])
            checks.append(Check("iam:PassRole", role_arn, resource_type=ROLE.resource_type))
        return checks

    return authz


async def _authz_for_role(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    row = await ctx.conn.fetchone(
        "SELECT path FROM iam_roles WHERE account = ? AND name = ?", ctx.account, req["RoleName"]
    )
    arn = store.entity_arn(ctx.account, "role", row[0] if row is not None else "/", req["RoleName"])
    return [Check("iam:ListInstanceProfilesForRole", arn, resource_type=ROLE.resource_type)]


@operation("iam", "CreateInstanceProfile", authorize=_authz("CreateInstanceProfile"))
async def create_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """A new, empty instance profile; EntityAlreadyExists when the name is taken."""
    name = req["InstanceProfileName"]
    path = store.check_path(req.get("Path"))
    tags = check_tags(req.get("Tags"))
    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_instance_profiles WHERE account = ? AND lower(name) = lower(?)", ctx.account, name
    ):
        raise EntityAlreadyExists(f"Instance Profile {name} already exists.")
    pid = store.new_id("AIPA")
    try:
        await ctx.conn.execute(
            "INSERT INTO iam_instance_profiles (id, account, name, path, created, tags)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            pid,
            ctx.account,
            name,
            path,
            float(ctx.now),
            orjson.dumps(tags).decode(),
        )
    except IntegrityError:
        raise EntityAlreadyExists(f"Instance Profile {name} already exists.") from None
    row = await ctx.conn.fetchone("SELECT * FROM iam_instance_profiles WHERE id = ?", pid)
    return {"InstanceProfile": await _profile_out(ctx, row, tags=True)}


@operation("iam", "GetInstanceProfile", read_only=True, authorize=_authz("GetInstanceProfile"))
async def get_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await _profile_row(ctx, req["InstanceProfileName"])
    return {"InstanceProfile": await _profile_out(ctx, row, tags=True)}


@operation("iam", "ListInstanceProfiles", read_only=True, authorize=_authz("ListInstanceProfiles"))
async def list_instance_profiles(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("PathPrefix") or "/"
    rows = await ctx.conn.fetchall(
        "SELECT * FROM iam_instance_profiles WHERE account = ? ORDER BY name", ctx.account
    )
    profiles = [await _profile_out(ctx, r) for r in rows if r["path"].startswith(prefix)]
    return store.page(profiles, req, "InstanceProfiles")


@operation("iam", "ListInstanceProfilesForRole", read_only=True, authorize=_authz_for_role)
async def list_instance_profiles_for_role(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    role = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    rows = await ctx.conn.fetchall(
        "SELECT i.* FROM iam_instance_profiles i JOIN iam_instance_profile_roles p ON p.profile_id = i.id"
        " WHERE p.role_id = ? ORDER BY i.name",
        role["id"],
    )
    return store.page([await _profile_out(ctx, r) for r in rows], req, "InstanceProfiles")


@operation("iam", "DeleteInstanceProfile", authorize=_authz("DeleteInstanceProfile"))
async def delete_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """DeleteConflict while the profile still holds a role."""
    row = await _profile_row(ctx, req["InstanceProfileName"])
    if await ctx.conn.fetchone("SELECT 1 FROM iam_instance_profile_roles WHERE profile_id = ?", row["id"]):
        raise DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
    await ctx.conn.execute("DELETE FROM iam_instance_profiles WHERE id = ?", row["id"])
    return {}


@operation("iam", "AddRoleToInstanceProfile", authorize=_authz("AddRoleToInstanceProfile", pass_role=True))
async def add_role_to_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """LimitExceeded when the profile already holds a role (AWS's quota is one)."""
    row = await _profile_row(ctx, req["InstanceProfileName"])
    role = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    count = await ctx.conn.fetchone(
        "SELECT COUNT(*) FROM iam_instance_profile_roles WHERE profile_id = ?", row["id"]
    )
    if count and int(count[0]) >= MAX_ROLES:
        raise LimitExceeded(f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {MAX_ROLES}")
    await ctx.conn.execute(
        "INSERT INTO iam_instance_profile_roles (profile_id, role_id) VALUES (?, ?)", row["id"], role["id"]
    )
    return {}


@operation("iam", "RemoveRoleFromInstanceProfile", authorize=_authz("RemoveRoleFromInstanceProfile"))
async def remove_role_from_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await _profile_row(ctx, req["InstanceProfileName"])
    role = await entity_row(ctx.conn, ROLE, ctx.account, req["RoleName"])
    n = await ctx.conn.execute(
        "DELETE FROM iam_instance_profile_roles WHERE profile_id = ? AND role_id = ?", row["id"], role["id"]
    )
    if not n:
        raise NoSuchEntity(f"Role {role['name']} is not in instance profile {row['name']}.")
    return {}


# ------------------------------------------------------------------ tags


async def _set_tags(ctx: CallContext, row: Any, tags: list[dict[str, str]]) -> None:
    await ctx.conn.execute(
        "UPDATE iam_instance_profiles SET tags = ? WHERE id = ?", orjson.dumps(tags).decode(), row["id"]
    )


@operation("iam", "TagInstanceProfile", authorize=_authz("TagInstanceProfile"))
async def tag_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await _profile_row(ctx, req["InstanceProfileName"])
    await _set_tags(ctx, row, merge_tags(store.load_tags(row["tags"]), req["Tags"]))
    return {}


@operation("iam", "UntagInstanceProfile", authorize=_authz("UntagInstanceProfile"))
async def untag_instance_profile(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await _profile_row(ctx, req["InstanceProfileName"])
    await _set_tags(ctx, row, drop_tags(store.load_tags(row["tags"]), req["TagKeys"]))
    return {}


@operation("iam", "ListInstanceProfileTags", read_only=True, authorize=_authz("ListInstanceProfileTags"))
async def list_instance_profile_tags(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    row = await _profile_row(ctx, req["InstanceProfileName"])
    return store.page(store.load_tags(row["tags"]), req, "Tags")
