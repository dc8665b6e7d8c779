"""Role trust policies (and KMS key policies) follow the IAM users and roles they
name, as AWS's do.

IAM holds an ``AWS`` principal of such a policy by the entity's unique id. So
the policy shows a user's new ARN after ``UpdateUser`` renames or moves it, and
once the user or role is deleted it shows the deleted entity's unique id
(``AIDA...`` / ``AROA...``), which no later user or role of the same name
matches. On write of a trust policy, a principal naming a user or role that
does not exist in an account of this installation, or a bare unique id, is
IAM's ``MalformedPolicyDocument`` 'Invalid principal in policy: "AWS":"<value>"'.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from fleetward.services.iam.errors import MalformedPolicyDocument
from fleetward.storage.db import Conn

__all__ = ["check_trust_principals", "follow_principal"]

_ENTITY_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|role)(/(?:[^/]*/)*)([^/]+)")
_UNIQUE_ID = re.compile(r"A(?:IDA|ROA)[A-Z0-9]{12,124}")
_TABLES = {"user": "iam_users", "role": "iam_roles"}


def _aws_principals(document: Any) -> list[tuple[dict[str, Any], Any]]:
    """(the Principal/NotPrincipal object, its "AWS" value) of every statement."""
    out: list[tuple[dict[str, Any], Any]] = []
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    for stmt in statements if isinstance(statements, list) else ():
        for element in ("Principal", "NotPrincipal"):
            principal = stmt.get(element) if isinstance(stmt, dict) else None
            if isinstance(principal, dict) and "AWS" in principal:
                out.append((principal, principal["AWS"]))
    return out


async def check_trust_principals(conn: Conn, text: str) -> None:
    """Refuse principals IAM would not resolve (see the module docstring)."""
    for _, value in _aws_principals(orjson.loads(text)):
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            if _UNIQUE_ID.fullmatch(item):
                raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{item}"')
            m = _ENTITY_ARN.fullmatch(item)
            if m is None or "*" in item or "?" in item:
                continue
            account, kind, path, name = m.groups()
            if not await conn.fetchone("SELECT 1 FROM accounts WHERE id = ?", account):
                continue  # an account this installation does not hold: nothing to check against
            if not await conn.fetchone(
                f"SELECT 1 FROM {_TABLES[kind]} WHERE account = ? AND name = ? AND path = ?",
                account,
                name,
                path,
            ):
                raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{item}"')


# The policies that name principals: (table, key column, policy column, what else
# the update sets). A KMS key policy's version moves so compiled copies are dropped.
_POLICY_COLUMNS = (
    ("iam_roles", "id", "trust_policy", ""),
    ("kms_keys", "key_id", "policy", ", policy_version = policy_version + 1"),
)


def _rename(document: Any, old: str, new: str) -> bool:
    changed = False
    for principal, value in _aws_principals(document):
        if value == old:
            principal["AWS"], changed = new, True
        elif isinstance(value, list) and old in value:
            principal["AWS"], changed = [new if v == old else v for v in value], True
    return changed


async def follow_principal(conn: Conn, old: str, new: str) -> None:
    """Rewrite every role trust policy and KMS key policy naming ``old`` (an ARN)
    to name ``new`` (the entity's new ARN, or its unique id once deleted)."""
    for table, key, column, also in _POLICY_COLUMNS:
        rows = await conn.fetchall(f"SELECT {key}, {column} FROM {table} WHERE {column} LIKE ?", f"%{old}%")
        for row_id, text in rows:
            document = orjson.loads(text)
            if _rename(document, old, new):
                await conn.execute(
                    f"UPDATE {table} SET {column} = ?{also} WHERE {key} = ?",
                    orjson.dumps(document).decode(),
                    row_id,
                )
