"""IAM GetAccountAuthorizationDetails: every user, group, role and managed policy
of the account with their policies and relationships, in one (paged) snapshot.

As IAM does: inline and managed policy documents are URL-encoded; AWS-managed
policies are listed only when attached to something in the account; ``Filter``
picks the entity types (all when absent); ``Marker``/``MaxItems`` page over the
users, groups, roles and policies in that order.
"""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import GROUP, ROLE, USER, Kind, authz_account
from fleetward.services.iam.errors import NoSuchEntity
from fleetward.services.iam.instance_profiles import profile_arn
from fleetward.services.iam.managed import managed_policies
from fleetward.services.iam.policies import policy_out

_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


async def _inline(ctx: CallContext, kind: Kind, entity_id: str) -> list[dict[str, Any]]:
    rows = await ctx.conn.fetchall(
        "SELECT name, document FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ? ORDER BY name",
        kind.word,
        entity_id,
    )
    return [{"PolicyName": r[0], "PolicyDocument": store.encode_document(r[1])} for r in rows]


async def _attached(ctx: CallContext, kind: Kind, entity_id: str) -> list[dict[str, Any]]:
    out = []
    for r in await ctx.conn.fetchall(
        "SELECT policy_arn FROM iam_attachments WHERE entity_type = ? AND entity_id = ? ORDER BY policy_arn",
        kind.word,
        entity_id,
    ):
        try:
            p = await store.get_policy(ctx.conn, ctx.account, r[0])
        except NoSuchEntity:
            continue
        out.append({"PolicyName": p.name, "PolicyArn": p.arn})
    return out


async def _users(ctx: CallContext) -> list[dict[str, Any]]:
    out = []
    for row in await ctx.conn.fetchall(
        "SELECT * FROM iam_users WHERE account = ? ORDER BY name", ctx.account
    ):
        detail = store.user_out(row)
        detail["UserPolicyList"] = await _inline(ctx, USER, row["id"])
        detail["GroupList"] = [
            r[0]
            for r in await ctx.conn.fetchall(
                "SELECT g.name FROM iam_groups g JOIN iam_group_members m ON m.group_id = g.id"
                " WHERE m.user_id = ? ORDER BY g.name",
                row["id"],
            )
        ]
        detail["AttachedManagedPolicies"] = await _attached(ctx, USER, row["id"])
        out.append(detail)
    return out


async def _groups(ctx: CallContext) -> list[dict[str, Any]]:
    out = []
    for row in await ctx.conn.fetchall(
        "SELECT * FROM iam_groups WHERE account = ? ORDER BY name", ctx.account
    ):
        detail = store.group_out(row)
        detail["GroupPolicyList"] = await _inline(ctx, GROUP, row["id"])
        detail["AttachedManagedPolicies"] = await _attached(ctx, GROUP, row["id"])
        out.append(detail)
    return out


async def _instance_profiles(ctx: CallContext, role_id: str) -> list[dict[str, Any]]:
    out = []
    for prof in await ctx.conn.fetchall(
        "SELECT i.* FROM iam_instance_profiles i JOIN iam_instance_profile_roles p ON p.profile_id = i.id"
        " WHERE p.role_id = ? ORDER BY i.name",
        role_id,
    ):
        roles = await ctx.conn.fetchall(
            "SELECT r.* FROM iam_roles r JOIN iam_instance_profile_roles p ON p.role_id = r.id"
            " WHERE p.profile_id = ? ORDER BY r.name",
            prof["id"],
        )
        out.append(
            {
                "Path": prof["path"],
                "InstanceProfileName": prof["name"],
                "InstanceProfileId": prof["id"],
                "Arn": profile_arn(prof["account"], prof["path"], prof["name"]),
                "CreateDate": store.dt(prof["created"]),
                "Roles": [store.role_out(r) for r in roles],
            }
        )
    return out


async def _roles(ctx: CallContext) -> list[dict[str, Any]]:
    out = []
    for row in await ctx.conn.fetchall(
        "SELECT * FROM iam_roles WHERE account = ? ORDER BY name", ctx.account
    ):
        detail = store.role_out(row)
        detail.pop("MaxSessionDuration", None)  # not a RoleDetail member
        detail.pop("Description", None)
        detail["InstanceProfileList"] = await _instance_profiles(ctx, row["id"])
        detail["RolePolicyList"] = await _inline(ctx, ROLE, row["id"])
        detail["AttachedManagedPolicies"] = await _attached(ctx, ROLE, row["id"])
        detail["RoleLastUsed"] = (
            {"LastUsedDate": store.dt(row["last_used"]), "Region": row["last_used_region"]}
            if row["last_used"] is not None
            else {}
        )
        out.append(detail)
    return out


async def _policy_detail(ctx: CallContext, p: store.PolicyInfo) -> dict[str, Any]:
    if p.aws_managed:
        versions = [(p.default_version, await store.policy_document(ctx.conn, p.arn) or "", p.created)]
    else:
        versions = [
            (r[0], r[1], r[2])
            for r in await ctx.conn.fetchall(
                "SELECT version_id, document, created FROM iam_policy_versions WHERE policy_arn = ?"
                " ORDER BY created DESC",
                p.arn,
            )
        ]
    detail = await policy_out(ctx, p, description=True)
    detail["PolicyVersionList"] = [
        {
            "Document": store.encode_document(doc),
            "VersionId": vid,
            "IsDefaultVersion": vid == p.default_version,
            "CreateDate": store.dt(created),
        }
        for vid, doc, created in versions
    ]
    return detail


async def _policies(ctx: CallContext, local: bool, aws: bool) -> list[dict[str, Any]]:
    out = []
    if local:
        for row in await ctx.conn.fetchall(
            "SELECT arn FROM iam_policies WHERE account = ? ORDER BY name", ctx.account
        ):
            out.append(await _policy_detail(ctx, await store.get_policy(ctx.conn, ctx.account, row[0])))
    if aws:
        for arn in sorted(managed_policies()):
            if await store.attachment_count(ctx.conn, arn, ctx.account):
                out.append(await _policy_detail(ctx, await store.get_policy(ctx.conn, ctx.account, arn)))
    return out


@operation(
    "iam",
    "GetAccountAuthorizationDetails",
    read_only=True,
    authorize=authz_account("GetAccountAuthorizationDetails"),
)
async def get_account_authorization_details(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted = set(req.get("Filter") or ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"))
    items: list[tuple[str, dict[str, Any]]] = []
    if "User" in wanted:
        items += [("UserDetailList", d) for d in await _users(ctx)]
    if "Group" in wanted:
        items += [("GroupDetailList", d) for d in await _groups(ctx)]
    if "Role" in wanted:
        items += [("RoleDetailList", d) for d in await _roles(ctx)]
    policies = await _policies(ctx, "LocalManagedPolicy" in wanted, "AWSManagedPolicy" in wanted)
    items += [("Policies", d) for d in policies]
    paged = store.page(items, req, "Items")
    out: dict[str, Any] = {name: [] for name in _LISTS}
    for name, detail in paged.pop("Items"):
        out[name].append(detail)
    out.update(paged)
    return out
