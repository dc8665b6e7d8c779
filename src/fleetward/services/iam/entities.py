"""What users, groups and roles share: inline and attached policies, tags,
permissions boundaries, and the authorization helper for IAM operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.errors import InvalidInput, LimitExceeded, NoSuchEntity
from fleetward.storage.db import Conn

__all__ = ["KINDS", "Kind", "authz_entity", "authz_policy", "entity_row"]

Authz = Callable[[CallContext, dict[str, Any]], Awaitable[list[Check]]]


class Kind:
    """One IAM entity type: its table, request member, ARN word and id prefix."""

    def __init__(self, word: str, table: str, member: str, resource_type: str, max_inline: int) -> None:
        self.word = word  # "user" | "group" | "role"
        self.table = table
        self.member = member  # "UserName" ...
        self.resource_type = resource_type
        self.max_inline = max_inline
        self.title = word.capitalize()


USER = Kind("user", "iam_users", "UserName", "AWS::IAM::User", store.MAX_INLINE_USER)
GROUP = Kind("group", "iam_groups", "GroupName", "AWS::IAM::Group", store.MAX_INLINE_GROUP)
ROLE = Kind("role", "iam_roles", "RoleName", "AWS::IAM::Role", store.MAX_INLINE_ROLE)
KINDS = {"user": USER, "group": GROUP, "role": ROLE}


async def entity_row(conn: Conn, kind: Kind, account: str, name: str) -> Any:
    row = await conn.fetchone(f"SELECT * FROM {kind.table} WHERE account = ? AND name = ?", account, name)
    if row is None:
        raise NoSuchEntity(f"The {kind.word} with name {name} cannot be found.")
    return row


def target_name(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> str:
    """The entity a request names; for users, the caller itself when omitted (as IAM does).

    A caller that is no IAM user (a role session, the root) must name the user:
    IAM's ValidationError "Must specify userName when calling with non-User credentials"."""
    name = req.get(kind.member)
    if name:
        return str(name)
    if kind is USER and ctx.principal.type == "IAMUser":
        return ctx.principal.name
    raise ValidationException(
        f"Must specify {kind.member[0].lower()}{kind.member[1:]} when calling with non-User credentials"
    )


# IAM actions that offer iam:PermissionsBoundary (the request's boundary for
# Create*/Put*PermissionsBoundary, else the one the user or role has) and
# iam:PolicyARN, per IAM's service authorization reference.
_BOUNDARY_KEY_OPS = frozenset(
    f"{verb}{title}{noun}"
    for title in ("User", "Role")
    for verb, noun in (
        ("Create", ""),
        ("Put", "PermissionsBoundary"),
        ("Delete", "PermissionsBoundary"),
        ("Attach", "Policy"),
        ("Detach", "Policy"),
        ("Put", "Policy"),
        ("Delete", "Policy"),
    )
)
_POLICY_ARN_KEY_OPS = frozenset(
    f"{verb}{title}Policy" for verb in ("Attach", "Detach") for title in ("User", "Group", "Role")
)


def _entity_keys(op: str, kind: Kind, req: dict[str, Any], row: Any) -> dict[str, Any]:
    """Condition keys of ``iam:<op>`` on a user/group/role: the entity's tags as
    ``aws:ResourceTag/`` and ``iam:ResourceTag/``, ``iam:PermissionsBoundary``,
    ``iam:PolicyARN`` (only where IAM offers them)."""
    keys: dict[str, Any] = {}
    if row is not None and kind is not GROUP:
        for t in store.load_tags(row["tags"]):
            k = t["Key"].lower()
            keys[f"aws:resourcetag/{k}"] = keys[f"iam:resourcetag/{k}"] = t["Value"]
    if op in _BOUNDARY_KEY_OPS:
        if op.startswith("Create") or (op.startswith("Put") and op.endswith("Boundary")):
            boundary = req.get("PermissionsBoundary")
        else:
            boundary = row["boundary_arn"] if row is not None else None
        if boundary:
            keys["iam:permissionsboundary"] = boundary
    if op in _POLICY_ARN_KEY_OPS and req.get("PolicyArn"):
        keys["iam:policyarn"] = req["PolicyArn"]
    return keys


def authz_entity(op: str, kind: Kind) -> Authz:
    """Authorize ``iam:<op>`` on the named user/group/role's ARN (with its stored path),
    with the entity's condition keys (:func:`_entity_keys`).

    Listing operations (``List<Kind>s``) act on ``arn:aws:iam::<acct>:<kind>/<PathPrefix>``.
    """

    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        if op == f"List{kind.title}s":
            arn = f"arn:aws:iam::{ctx.account}:{kind.word}{req.get('PathPrefix') or '/'}"
            return [Check(f"iam:{op}", arn, resource_type=kind.resource_type)]
        name = req.get(kind.member)
        if not name and kind is USER and ctx.principal.type == "IAMUser":
            name = ctx.principal.name
        path = req.get("Path") or "/"
        row = None
        if name:
            row = await ctx.conn.fetchone(
                f"SELECT * FROM {kind.table} WHERE account = ? AND name = ?",
                ctx.account,
                name,
            )
            if row is not None:
                path = row["path"]
        arn = store.entity_arn(ctx.account, kind.word, path, str(name or "")) if name else "*"
        keys = _entity_keys(op, kind, req, row)
        return [Check(f"iam:{op}", arn, keys=keys or None, resource_type=kind.resource_type)]

    return authz


def authz_policy(op: str, member: str = "PolicyArn") -> Authz:
    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        arn = req.get(member)
        if arn is None and "PolicyName" in req:
            arn = store.policy_arn(ctx.account, req.get("Path") or "/", req["PolicyName"])
        return [Check(f"iam:{op}", str(arn or "*"), resource_type="AWS::IAM::ManagedPolicy")]

    return authz


def authz_account(op: str) -> Authz:
    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        return [Check(f"iam:{op}", "*")]

    return authz


# ----------------------------------------------------------------- inline


async def put_inline(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    doc = req["PolicyDocument"]
    # IAM's inline limit is on the entity's aggregate (the policy replaced excluded).
    others = await ctx.conn.fetchall(
        "SELECT document FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ? AND name <> ?",
        kind.word,
        row["id"],
        req["PolicyName"],
    )
    if store.policy_size(doc) + sum(store.policy_size(r[0]) for r in others) > kind.max_inline:
        raise LimitExceeded(
            f"Maximum policy size of {kind.max_inline} bytes exceeded for {kind.word} {row['name']}"
        )
    store.compile_document(doc, name=req["PolicyName"])
    await ctx.conn.execute(
        "INSERT INTO iam_inline_policies (entity_type, entity_id, name, document) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (entity_type, entity_id, name) DO UPDATE SET document = excluded.document",
        kind.word,
        row["id"],
        req["PolicyName"],
        doc,
    )
    store.invalidate(ctx.env)


async def get_inline(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    pol = await ctx.conn.fetchone(
        "SELECT document FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ? AND name = ?",
        kind.word,
        row["id"],
        req["PolicyName"],
    )
    if pol is None:
        raise NoSuchEntity(f"The {kind.word} policy with name {req['PolicyName']} cannot be found.")
    return {
        kind.member: row["name"],
        "PolicyName": req["PolicyName"],
        "PolicyDocument": store.encode_document(pol[0]),
    }


async def delete_inline(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    n = await ctx.conn.execute(
        "DELETE FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ? AND name = ?",
        kind.word,
        row["id"],
        req["PolicyName"],
    )
    if not n:
        raise NoSuchEntity(f"The {kind.word} policy with name {req['PolicyName']} cannot be found.")
    store.invalidate(ctx.env)


async def list_inline(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    names = [
        r[0]
        for r in await ctx.conn.fetchall(
            "SELECT name FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ? ORDER BY name",
            kind.word,
            row["id"],
        )
    ]
    return store.page(names, req, "PolicyNames")


# --------------------------------------------------------------- attached


async def attach(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    policy = await store.get_policy(ctx.conn, ctx.account, req["PolicyArn"])
    count = await ctx.conn.fetchone(
        "SELECT COUNT(*) FROM iam_attachments WHERE entity_type = ? AND entity_id = ?", kind.word, row["id"]
    )
    if count and int(count[0]) >= 20:
        raise LimitExceeded(f"Cannot exceed quota for PoliciesPer{kind.title}: 20")
    await ctx.conn.execute(
        "INSERT INTO iam_attachments (entity_type, entity_id, policy_arn) VALUES (?, ?, ?)"
        " ON CONFLICT (entity_type, entity_id, policy_arn) DO NOTHING",
        kind.word,
        row["id"],
        policy.arn,
    )
    store.invalidate(ctx.env)


async def detach(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    n = await ctx.conn.execute(
        "DELETE FROM iam_attachments WHERE entity_type = ? AND entity_id = ? AND policy_arn = ?",
        kind.word,
        row["id"],
        req["PolicyArn"],
    )
    if not n:
        raise NoSuchEntity(f"Policy {req['PolicyArn']} was not found.")
    store.invalidate(ctx.env)


async def list_attached(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    out: list[dict[str, Any]] = []
    prefix = req.get("PathPrefix") or "/"
    for r in await ctx.conn.fetchall(
        "SELECT policy_arn FROM iam_attachments WHERE entity_type = ? AND entity_id = ? ORDER BY policy_arn",
        kind.word,
        row["id"],
    ):
        try:
            p = await store.get_policy(ctx.conn, ctx.account, r[0])
        except NoSuchEntity:
            continue
        if p.path.startswith(prefix):
            out.append({"PolicyName": p.name, "PolicyArn": p.arn})
    return store.page(out, req, "AttachedPolicies")


# ----------------------------------------------------------- boundary, tags


async def put_boundary(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    policy = await store.boundary_policy(ctx.conn, ctx.account, req["PermissionsBoundary"])
    await ctx.conn.execute(f"UPDATE {kind.table} SET boundary_arn = ? WHERE id = ?", policy.arn, row["id"])
    store.invalidate(ctx.env)


async def delete_boundary(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    if not row["boundary_arn"]:
        raise NoSuchEntity(f"The {kind.word} with name {row['name']} has no permissions boundary.")
    await ctx.conn.execute(f"UPDATE {kind.table} SET boundary_arn = NULL WHERE id = ?", row["id"])
    store.invalidate(ctx.env)


MAX_TAGS = 50


def check_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """A request's tags, refused with InvalidInput when two keys differ only by case
    (IAM tag keys are case-insensitive)."""
    tags = list(tags or ())
    if len({t["Key"].lower() for t in tags}) != len(tags):
        raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    return tags


def merge_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """``current`` updated by ``new``: a key already present (in any case) takes the new
    key and value in place; LimitExceeded past 50 tags."""
    merged = {t["Key"].lower(): {"Key": t["Key"], "Value": t["Value"]} for t in current}
    for t in check_tags(new):
        merged[t["Key"].lower()] = {"Key": t["Key"], "Value": t["Value"]}
    if len(merged) > MAX_TAGS:
        raise LimitExceeded("The number of tags has reached the maximum limit.")
    return list(merged.values())


def drop_tags(current: list[dict[str, str]], keys: list[str]) -> list[dict[str, str]]:
    drop = {k.lower() for k in keys}
    return [t for t in current if t["Key"].lower() not in drop]


async def tag(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    tags = merge_tags(store.load_tags(row["tags"]), req["Tags"])
    await ctx.conn.execute(
        f"UPDATE {kind.table} SET tags = ? WHERE id = ?", orjson.dumps(tags).decode(), row["id"]
    )
    store.invalidate(ctx.env)


async def untag(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> None:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    tags = drop_tags(store.load_tags(row["tags"]), req["TagKeys"])
    await ctx.conn.execute(
        f"UPDATE {kind.table} SET tags = ? WHERE id = ?", orjson.dumps(tags).decode(), row["id"]
    )
    store.invalidate(ctx.env)


async def list_tags(ctx: CallContext, kind: Kind, req: dict[str, Any]) -> dict[str, Any]:
    row = await entity_row(ctx.conn, kind, ctx.account, req[kind.member])
    return store.page(store.load_tags(row["tags"]), req, "Tags")


async def delete_conflicts(ctx: CallContext, kind: Kind, entity_id: str) -> None:
    """IAM's DeleteConflict checks shared by DeleteUser/DeleteGroup/DeleteRole."""
    from fleetward.services.iam.errors import DeleteConflict

    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ?", kind.word, entity_id
    ):
        raise DeleteConflict("Cannot delete entity, must delete policies first.")
    if await ctx.conn.fetchone(
        "SELECT 1 FROM iam_attachments WHERE entity_type = ? AND entity_id = ?", kind.word, entity_id
    ):
        raise DeleteConflict("Cannot delete entity, must detach all policies first.")
