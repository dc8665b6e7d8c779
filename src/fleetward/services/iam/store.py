"""IAM storage helpers shared by the IAM and STS operations, the authenticator
and the authorizer: ids, ARNs, lookups (raising IAM's errors), wire shapes."""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from fleetward.iam.document import check_iam_document
from fleetward.iam.errors import MalformedPolicyError
from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy
from fleetward.services.context import CallContext, ServiceEnv
from fleetward.services.iam.errors import InvalidInput, MalformedPolicyDocument, NoSuchEntity
from fleetward.services.iam.managed import MANAGED_CREATED, managed_policy
from fleetward.storage.db import Conn

__all__ = [
    "PolicyInfo",
    "boundary_policy",
    "compile_document",
    "dt",
    "encode_document",
    "entity_arn",
    "get_group",
    "get_policy",
    "get_role",
    "get_user",
    "invalidate",
    "load_tags",
    "new_access_key_id",
    "new_id",
    "new_secret",
    "page",
    "policy_arn",
    "policy_document",
    "policy_size",
    "role_out",
    "user_out",
]

_ID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

# IAM's size limits in characters, whitespace not counted (see policy_size). An
# entity's inline limit is on the sum of all its inline policies.
MAX_INLINE_USER = 2048
MAX_INLINE_GROUP = 5120
MAX_INLINE_ROLE = 10240
MAX_MANAGED = 6144


def new_id(prefix: str, length: int = 21) -> str:
    """An IAM unique id (``AIDA...``, ``AROA...``, ``AGPA...``, ``ANPA...``)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length - len(prefix)))


def new_access_key_id(prefix: str = "AKIA") -> str:
    return new_id(prefix, 20)


def new_secret(length: int = 40) -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))


def new_token() -> str:
    return "FwoGZXIvYXdzE" + secrets.token_urlsafe(96)


def dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def entity_arn(account: str, kind: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def policy_arn(account: str, path: str, name: str) -> str:
    return entity_arn(account, "policy", path, name)


def invalidate(env: ServiceEnv) -> None:
    """Drop cached credentials and policies after an IAM write (this process
    at once, twice: now and just after the transaction commits; other workers
    through the caches' short TTL)."""
    store = env.extras.get("iam")
    if store is not None:
        store.invalidate_soon()


def encode_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986); SDKs decode them."""
    return quote(document, safe="")


def policy_size(text: str) -> int:
    """A policy document's size as IAM counts it against its limits: whitespace is not counted."""
    return len("".join(text.split()))


def compile_document(
    text: str,
    *,
    kind: PolicyKind = PolicyKind.IDENTITY,
    name: str = "",
    max_length: int | None = None,
    quota: str = "PolicySize",
    trust: bool = False,
) -> CompiledPolicy:
    """Validate a policy document on write; raises MalformedPolicyDocument or LimitExceeded.

    Past ``max_length`` (:func:`policy_size`) it is IAM's LimitExceeded "Cannot
    exceed quota for <quota>: <max_length>". Identity policies and role trust
    policies (``trust``) go through IAM's own write-time checks first
    (:func:`fleetward.iam.document.check_iam_document`)."""
    if max_length is not None and policy_size(text) > max_length:
        from fleetward.services.iam.errors import LimitExceeded

        raise LimitExceeded(f"Cannot exceed quota for {quota}: {max_length}")
    try:
        if kind is PolicyKind.IDENTITY or trust:
            check_iam_document(text, trust=trust)
        return compile_policy(text, kind=kind, name=name)
    except MalformedPolicyError as e:
        raise MalformedPolicyDocument(e.message) from e


def load_tags(text: str | None) -> list[dict[str, str]]:
    return list(orjson.loads(text)) if text else []


def tag_map(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def check_path(path: str | None) -> str:
    path = path or "/"
    if not (path.startswith("/") and path.endswith("/")):
        raise InvalidInput(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."
        )
    return path


def page(items: list[Any], req: dict[str, Any], key: str) -> dict[str, Any]:
    """IAM pagination: ``Marker`` (an opaque offset here) and ``MaxItems`` (default 100)."""
    start = 0
    marker = req.get("Marker")
    if marker:
        try:
            start = int(marker)
        except ValueError:
            raise InvalidInput("Invalid Marker.") from None
    size = int(req.get("MaxItems") or 100)
    chunk = items[start : start + size]
    out: dict[str, Any] = {key: chunk, "IsTruncated": start + size < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = str(start + size)
    return out


# ------------------------------------------------------------- lookups


async def get_user(conn: Conn, account: str, name: str) -> Any:
    row = await conn.fetchone("SELECT * FROM iam_users WHERE account = ? AND name = ?", account, name)
    if row is None:
        raise NoSuchEntity(f"The user with name {name} cannot be found.")
    return row


async def get_group(conn: Conn, account: str, name: str) -> Any:
    row = await conn.fetchone("SELECT * FROM iam_groups WHERE account = ? AND name = ?", account, name)
    if row is None:
        raise NoSuchEntity(f"The group with name {name} cannot be found.")
    return row


async def get_role(conn: Conn, account: str, name: str) -> Any:
    row = await conn.fetchone("SELECT * FROM iam_roles WHERE account = ? AND name = ?", account, name)
    if row is None:
        raise NoSuchEntity(f"The role with name {name} cannot be found.")
    return row


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    arn: str
    policy_id: str
    name: str
    path: str
    description: str | None
    default_version: str
    created: float
    updated: float
    aws_managed: bool
    next_version: int = 2


async def boundary_policy(conn: Conn, account: str, arn: str) -> PolicyInfo:
    """The managed policy named as a permissions boundary; IAM's NoSuchEntity
    "Scope ARN: <arn> does not exist or is not attachable." otherwise."""
    try:
        return await get_policy(conn, account, arn)
    except NoSuchEntity:
        raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.") from None


async def get_policy(conn: Conn, account: str, arn: str) -> PolicyInfo:
    """A managed policy visible to ``account`` (AWS-managed or its own); NoSuchEntity otherwise."""
    builtin = managed_policy(arn)
    if builtin is not None:
        return PolicyInfo(
            arn,
            builtin.policy_id,
            builtin.name,
            builtin.path,
            builtin.description,
            "v1",
            MANAGED_CREATED,
            MANAGED_CREATED,
            True,
        )
    row = await conn.fetchone("SELECT * FROM iam_policies WHERE arn = ? AND account = ?", arn, account)
    if row is None:
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
    return PolicyInfo(
        row["arn"],
        row["id"],
        row["name"],
        row["path"],
        row["description"],
        row["default_version"],
        row["created"],
        row["updated"],
        False,
        row["next_version"],
    )


async def policy_document(conn: Conn, arn: str, version: str | None = None) -> str | None:
    """The document of ``arn``'s ``version`` (default version when None)."""
    builtin = managed_policy(arn)
    if builtin is not None:
        return builtin.document if version in (None, "v1") else None
    if version is None:
        row = await conn.fetchone(
            "SELECT v.document FROM iam_policies p JOIN iam_policy_versions v"
            " ON v.policy_arn = p.arn AND v.version_id = p.default_version WHERE p.arn = ?",
            arn,
        )
    else:
        row = await conn.fetchone(
            "SELECT document FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?", arn, version
        )
    return None if row is None else str(row[0])


async def attachment_count(conn: Conn, arn: str, account: str | None = None) -> int:
    if account is None:
        row = await conn.fetchone("SELECT COUNT(*) FROM iam_attachments WHERE policy_arn = ?", arn)
    else:
        row = await conn.fetchone(
            "SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_arn = ? AND ("
            " EXISTS (SELECT 1 FROM iam_users u WHERE u.id = a.entity_id AND u.account = ?)"
            " OR EXISTS (SELECT 1 FROM iam_groups g WHERE g.id = a.entity_id AND g.account = ?)"
            " OR EXISTS (SELECT 1 FROM iam_roles r WHERE r.id = a.entity_id AND r.account = ?))",
            arn,
            account,
            account,
            account,
        )
    return int(row[0]) if row else 0


# ------------------------------------------------------------- wire shapes


def user_out(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row["path"],
        "UserName": row["name"],
        "UserId": row["id"],
        "Arn": entity_arn(row["account"], "user", row["path"], row["name"]),
        "CreateDate": dt(row["created"]),
    }
    if row["boundary_arn"]:
        out["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": row["boundary_arn"],
        }
    tags = load_tags(row["tags"])
    if tags:
        out["Tags"] = tags
    return out


def role_out(row: Any, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row["path"],
        "RoleName": row["name"],
        "RoleId": row["id"],
        "Arn": entity_arn(row["account"], "role", row["path"], row["name"]),
        "CreateDate": dt(row["created"]),
        "AssumeRolePolicyDocument": encode_document(row["trust_policy"]),
        "MaxSessionDuration": row["max_session_duration"],
    }
    if row["description"]:
        out["Description"] = row["description"]
    if full:
        if row["boundary_arn"]:
            out["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": row["boundary_arn"],
            }
        tags = load_tags(row["tags"])
        if tags:
            out["Tags"] = tags
    return out


def group_out(row: Any) -> dict[str, Any]:
    return {
        "Path": row["path"],
        "GroupName": row["name"],
        "GroupId": row["id"],
        "Arn": entity_arn(row["account"], "group", row["path"], row["name"]),
        "CreateDate": dt(row["created"]),
    }


def caller_account(ctx: CallContext) -> str:
    return ctx.principal.account


def random_suffix() -> str:
    return os.urandom(4).hex()
