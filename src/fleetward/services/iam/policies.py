"""Managed policies: customer-managed (versioned, up to 5 versions) and AWS-managed (built in)."""

from __future__ import annotations

from typing import Any

import orjson

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import authz_policy, check_tags, drop_tags, merge_tags
from fleetward.services.iam.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from fleetward.services.iam.managed import managed_policies
from fleetward.storage.db import IntegrityError

MAX_VERSIONS = 5


async def _boundary_count(ctx: CallContext, arn: str) -> int:
    total = 0
    for table in ("iam_users", "iam_roles"):
        row = await ctx.conn.fetchone(
            f"SELECT COUNT(*) FROM {table} WHERE account = ? AND boundary_arn = ?", ctx.account, arn
        )
        total += int(row[0]) if row else 0
    return total


async def _policy_tags(ctx: CallContext, p: store.PolicyInfo) -> list[dict[str, str]]:
    if p.aws_managed:
        return []
    row = await ctx.conn.fetchone("SELECT tags FROM iam_policies WHERE arn = ?", p.arn)
    return store.load_tags(row[0]) if row else []


async def policy_out(
    ctx: CallContext, p: store.PolicyInfo, *, description: bool = False, tags: bool | None = None
) -> dict[str, Any]:
    """The ``Policy`` shape as each call returns it, like IAM: ``Description`` (when
    set) only from GetPolicy (``description``); ``Tags`` always from GetPolicy
    (``tags=True``, an empty list too), only when there are some from CreatePolicy
    (``tags=False``), never from ListPolicies (``tags=None``)."""
    out: dict[str, Any] = {
        "PolicyName": p.name,
        "PolicyId": p.policy_id,
        "Arn": p.arn,
        "Path": p.path,
        "DefaultVersionId": p.default_version,
        "AttachmentCount": await store.attachment_count(
            ctx.conn, p.arn, ctx.account if p.aws_managed else None
        ),
        "PermissionsBoundaryUsageCount": await _boundary_count(ctx, p.arn),
        "IsAttachable": True,
        "CreateDate": store.dt(p.created),
        "UpdateDate": store.dt(p.updated),
    }
    if description and p.description:
        out["Description"] = p.description
    if tags is not None:
        found = await _policy_tags(ctx, p)
        if found or tags:
            out["Tags"] = found
    return out


@operation("iam", "CreatePolicy", authorize=authz_policy("CreatePolicy"))
async def create_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    path = store.check_path(req.get("Path"))
    name = req["PolicyName"]
    arn = store.policy_arn(ctx.account, path, name)
    store.compile_document(req["PolicyDocument"], name=name, max_length=store.MAX_MANAGED)
    tags = check_tags(req.get("Tags"))
    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_policies WHERE account = ? AND path = ? AND lower(name) = lower(?)",
        ctx.account,
        path,
        name,
    ):
        raise EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.")
    try:
        await ctx.conn.execute(
            "INSERT INTO iam_policies (arn, id, account, name, path, description, default_version, next_version,"
            " created, updated, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arn,
            store.new_id("ANPA"),
            ctx.account,
            name,
            path,
            req.get("Description"),
            "v1",
            2,
            float(ctx.now),
            float(ctx.now),
            orjson.dumps(tags).decode(),
        )
    except IntegrityError:
        raise EntityAlreadyExists(
            f"A policy called {name} already exists. Duplicate names are not allowed."
        ) from None
    await ctx.conn.execute(
        "INSERT INTO iam_policy_versions (policy_arn, version_id, document, created) VALUES (?, ?, ?, ?)",
        arn,
        "v1",
        req["PolicyDocument"],
        float(ctx.now),
    )
    policy = await store.get_policy(ctx.conn, ctx.account, arn)
    return {"Policy": await policy_out(ctx, policy, tags=False)}


@operation("iam", "GetPolicy", read_only=True, authorize=authz_policy("GetPolicy"))
async def get_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    return {"Policy": await policy_out(ctx, policy, description=True, tags=True)}


@operation("iam", "ListPolicies", read_only=True, authorize=authz_policy("ListPolicies"))
async def list_policies(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    scope = req.get("Scope") or "All"
    prefix = req.get("PathPrefix") or "/"
    infos: list[store.PolicyInfo] = []
    if scope in ("All", "AWS"):
        for arn in sorted(managed_policies()):
            infos.append(await store.get_policy(ctx.conn, ctx.account, arn))
    if scope in ("All", "Local"):
        for row in await ctx.conn.fetchall(
            "SELECT arn FROM iam_policies WHERE account = ? ORDER BY name", ctx.account
        ):
            infos.append(await store.get_policy(ctx.conn, ctx.account, row[0]))
    out = []
    for p in infos:
        if not p.path.startswith(prefix):
            continue
        shaped = await policy_out(ctx, p)
        if req.get("OnlyAttached") and not shaped["AttachmentCount"]:
            continue
        out.append(shaped)
    return store.page(out, req, "Policies")


@operation("iam", "DeletePolicy", authorize=authz_policy("DeletePolicy"))
async def delete_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    if policy.aws_managed:
        raise NoSuchEntity(f"Policy {policy.arn} does not exist or is not attachable.")
    if await store.attachment_count(ctx.conn, policy.arn):
        raise DeleteConflict("Cannot delete a policy attached to entities.")
    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_policy_versions WHERE policy_arn = ? AND version_id <> ?",
        policy.arn,
        policy.default_version,
    ):
        raise DeleteConflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
        )
    for table in ("iam_users", "iam_roles"):
        if await ctx.conn.fetchone(f"SELECT 1 FROM {table} WHERE boundary_arn = ?", policy.arn):
            raise DeleteConflict("Cannot delete a policy attached to entities.")
    await ctx.conn.execute("DELETE FROM iam_policy_versions WHERE policy_arn = ?", policy.arn)
    await ctx.conn.execute("DELETE FROM iam_policies WHERE arn = ?", policy.arn)
    store.invalidate(ctx.env)
    return {}


def _version_out(version: str, document: str, created: float, default: bool) -> dict[str, Any]:
    return {
        "Document": store.encode_document(document),
        "VersionId": version,
        "IsDefaultVersion": default,
        "CreateDate": store.dt(created),
    }


@operation("iam", "GetPolicyVersion", read_only=True, authorize=authz_policy("GetPolicyVersion"))
async def get_policy_version(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    doc = await store.policy_document(ctx.conn, policy.arn, req["VersionId"])
    if doc is None:
        raise NoSuchEntity(
            f"Policy {policy.arn} version {req['VersionId']} does not exist or is not attachable."
        )
    created = policy.created
    if not policy.aws_managed:
        row = await ctx.conn.fetchone(
            "SELECT created FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?",
            policy.arn,
            req["VersionId"],
        )
        created = row[0] if row else created
    return {
        "PolicyVersion": _version_out(
            req["VersionId"], doc, created, req["VersionId"] == policy.default_version
        )
    }


@operation("iam", "ListPolicyVersions", read_only=True, authorize=authz_policy("ListPolicyVersions"))
async def list_policy_versions(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    if policy.aws_managed:
        doc = await store.policy_document(ctx.conn, policy.arn) or ""
        versions = [_version_out("v1", doc, policy.created, True)]
    else:
        rows = await ctx.conn.fetchall(
            "SELECT version_id, document, created FROM iam_policy_versions WHERE policy_arn = ? ORDER BY created DESC",
            policy.arn,
        )
        versions = [_version_out(r[0], r[1], r[2], r[0] == policy.default_version) for r in rows]
    for v in versions:
        v.pop("Document")
    return store.page(versions, req, "Versions")


async def _own_policy(ctx: CallContext, arn: str) -> store.PolicyInfo:
    policy = await store.get_policy(ctx.conn, ctx.account, arn)
    if policy.aws_managed:
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
    return policy


@operation("iam", "CreatePolicyVersion", authorize=authz_policy("CreatePolicyVersion"))
async def create_policy_version(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await _own_policy(ctx, req["PolicyArn"])
    store.compile_document(req["PolicyDocument"], name=policy.name, max_length=store.MAX_MANAGED)
    count = await ctx.conn.fetchone(
        "SELECT COUNT(*) FROM iam_policy_versions WHERE policy_arn = ?", policy.arn
    )
    if count and int(count[0]) >= MAX_VERSIONS:
        raise LimitExceeded(
            f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version."
        )
    version = f"v{policy.next_version}"
    await ctx.conn.execute(
        "INSERT INTO iam_policy_versions (policy_arn, version_id, document, created) VALUES (?, ?, ?, ?)",
        policy.arn,
        version,
        req["PolicyDocument"],
        float(ctx.now),
    )
    default = bool(req.get("SetAsDefault"))
    await ctx.conn.execute(
        "UPDATE iam_policies SET next_version = ?, updated = ?, default_version = ? WHERE arn = ?",
        policy.next_version + 1,
        float(ctx.now),
        version if default else policy.default_version,
        policy.arn,
    )
    store.invalidate(ctx.env)
    out = _version_out(version, req["PolicyDocument"], ctx.now, default)
    out.pop("Document")
    return {"PolicyVersion": out}


@operation("iam", "DeletePolicyVersion", authorize=authz_policy("DeletePolicyVersion"))
async def delete_policy_version(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await _own_policy(ctx, req["PolicyArn"])
    if req["VersionId"] == policy.default_version:
        raise DeleteConflict("Cannot delete the default version of a policy.")
    n = await ctx.conn.execute(
        "DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?",
        policy.arn,
        req["VersionId"],
    )
    if not n:
        raise NoSuchEntity(
            f"Policy {policy.arn} version {req['VersionId']} does not exist or is not attachable."
        )
    return {}


@operation("iam", "SetDefaultPolicyVersion", authorize=authz_policy("SetDefaultPolicyVersion"))
async def set_default_policy_version(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await _own_policy(ctx, req["PolicyArn"])
    if await store.policy_document(ctx.conn, policy.arn, req["VersionId"]) is None:
        raise NoSuchEntity(
            f"Policy {policy.arn} version {req['VersionId']} does not exist or is not attachable."
        )
    await ctx.conn.execute(
        "UPDATE iam_policies SET default_version = ?, updated = ? WHERE arn = ?",
        req["VersionId"],
        float(ctx.now),
        policy.arn,
    )
    store.invalidate(ctx.env)
    return {}


# ------------------------------------------------------------------ tags


@operation("iam", "TagPolicy", authorize=authz_policy("TagPolicy"))
async def tag_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Add or overwrite tags (keys case-insensitive); InvalidInput for duplicate keys,
    LimitExceeded past 50, NoSuchEntity for an unknown or AWS-managed policy."""
    policy = await _own_policy(ctx, req["PolicyArn"])
    tags = merge_tags(await _policy_tags(ctx, policy), req["Tags"])
    await ctx.conn.execute(
        "UPDATE iam_policies SET tags = ? WHERE arn = ?", orjson.dumps(tags).decode(), policy.arn
    )
    return {}


@operation("iam", "UntagPolicy", authorize=authz_policy("UntagPolicy"))
async def untag_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await _own_policy(ctx, req["PolicyArn"])
    tags = drop_tags(await _policy_tags(ctx, policy), req["TagKeys"])
    await ctx.conn.execute(
        "UPDATE iam_policies SET tags = ? WHERE arn = ?", orjson.dumps(tags).decode(), policy.arn
    )
    return {}


@operation("iam", "ListPolicyTags", read_only=True, authorize=authz_policy("ListPolicyTags"))
async def list_policy_tags(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    return store.page(await _policy_tags(ctx, policy), req, "Tags")


# ----------------------------------------------------------------- usage

_USAGE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("user", "iam_users", "PolicyUsers"),
    ("group", "iam_groups", "PolicyGroups"),
    ("role", "iam_roles", "PolicyRoles"),
)


@operation("iam", "ListEntitiesForPolicy", read_only=True, authorize=authz_policy("ListEntitiesForPolicy"))
async def list_entities_for_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The account's users, groups and roles using a managed policy as a permissions
    policy (attached) and/or as a permissions boundary (``PolicyUsageFilter``),
    filtered by ``EntityFilter`` and the entities' ``PathPrefix``; one page over the
    three lists, users first."""
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    usage = req.get("PolicyUsageFilter")
    entity_filter = req.get("EntityFilter")
    prefix = req.get("PathPrefix") or "/"
    wanted = {"user", "group", "role"}
    if entity_filter in ("User", "Group", "Role"):
        wanted = {entity_filter.lower()}
    elif entity_filter == "LocalManagedPolicy" and policy.aws_managed:
        wanted = set()
    elif entity_filter == "AWSManagedPolicy" and not policy.aws_managed:
        wanted = set()
    found: list[tuple[str, dict[str, str]]] = []
    for word, table, key in _USAGE_KINDS:
        if word not in wanted:
            continue
        rows: dict[str, Any] = {}
        if usage in (None, "PermissionsPolicy"):
            for r in await ctx.conn.fetchall(
                f"SELECT e.id, e.name, e.path FROM {table} e JOIN iam_attachments a"
                " ON a.entity_id = e.id AND a.entity_type = ? WHERE e.account = ? AND a.policy_arn = ?",
                word,
                ctx.account,
                policy.arn,
            ):
                rows[r[0]] = r
        if usage in (None, "PermissionsBoundary") and word != "group":
            for r in await ctx.conn.fetchall(
                f"SELECT id, name, path FROM {table} WHERE account = ? AND boundary_arn = ?",
                ctx.account,
                policy.arn,
            ):
                rows[r[0]] = r
        title = word.capitalize()
        for r in sorted(rows.values(), key=lambda r: str(r[1])):
            if str(r[2]).startswith(prefix):
                found.append((key, {f"{title}Name": r[1], f"{title}Id": r[0]}))
    out = store.page(found, req, "_entities")
    entries = out.pop("_entities")
    for _, _, key in _USAGE_KINDS:
        out[key] = [item for k, item in entries if k == key]
    return out
