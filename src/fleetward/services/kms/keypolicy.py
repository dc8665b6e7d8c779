"""Key policy documents: AWS's default and managed-key policies, compilation, lock-out check."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any

from fleetward.iam.arn import caller_arns
from fleetward.iam.context import RequestContext
from fleetward.iam.errors import MalformedPolicyError
from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy
from fleetward.iam.statement import Effect, PrincipalMatch
from fleetward.services.kms.errors import LimitExceededException, MalformedPolicyDocumentException
from fleetward.storage.db import Conn

__all__ = [
    "INVALID_PRINCIPALS_MESSAGE",
    "LOCKOUT_MESSAGE",
    "PolicyCache",
    "check_principals",
    "compile_key_policy",
    "default_policy",
    "managed_ssm_policy",
    "would_lock_out",
]

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."
INVALID_PRINCIPALS_MESSAGE = "Policy contains a statement with one or more invalid principals."
_ENTITY_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|role)(/(?:[^/]*/)*)([^/]+)")
_ENTITY_TABLES = {"user": "iam_users", "role": "iam_roles"}
MAX_POLICY_BYTES = 32768


def default_policy(account: str) -> str:
    """AWS's default key policy: the account root may do ``kms:*`` (delegation to IAM)."""
    doc = {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return json.dumps(doc, indent=2)


def managed_ssm_policy(account: str, region: str) -> str:
    """The policy of the AWS managed key ``alias/aws/ssm`` (as AWS writes it)."""
    doc = {
        "Version": "2012-10-17",
        "Id": "auto-ssm-2",
        "Statement": [
            {
                "Sid": (
                    "Allow access through Amazon SSM for all principals in the account"
                    " that are authorized to use Amazon SSM"
                ),
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"ssm.{region}.amazonaws.com",
                        "kms:CallerAccount": account,
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }
    return json.dumps(doc, indent=2)


def compile_key_policy(text: str, name: str = "default") -> CompiledPolicy:
    """Validate and compile a key policy.

    Raises ``LimitExceededException`` when it exceeds the 32 KB key policy
    quota (as the KMS API reference says: the model lets 131072 characters
    through), ``MalformedPolicyDocumentException`` (IAM's wording) when the
    document is not a valid resource policy.
    """
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise LimitExceededException(f"Policy exceeds the maximum size of {MAX_POLICY_BYTES} bytes.")
    try:
        return compile_policy(text, kind=PolicyKind.RESOURCE, name=name)
    except MalformedPolicyError as e:
        raise MalformedPolicyDocumentException(e.message) from e


def _aws_principals(text: str) -> list[str]:
    """Every string in the ``AWS`` element of a Principal or NotPrincipal (a compiled, valid document)."""
    doc: Any = json.loads(text)
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for stmt in statements if isinstance(statements, list) else ():
        for element in ("Principal", "NotPrincipal"):
            principal = stmt.get(element) if isinstance(stmt, dict) else None
            value = principal.get("AWS") if isinstance(principal, dict) else None
            found += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    return found


async def check_principals(conn: Conn, text: str) -> None:
    """Refuse a key policy naming an IAM user or role that does not exist.

    KMS requires the principals of a key policy to exist: a user or role ARN
    of an account this installation holds that names no such entity is
    ``MalformedPolicyDocumentException`` with AWS's message. Principals of
    other accounts cannot be looked up and pass.
    """
    for item in _aws_principals(text):
        m = _ENTITY_ARN.fullmatch(item)
        if m is None or "*" in item or "?" in item:
            continue
        account, kind, path, name = m.groups()
        if not await conn.fetchone("SELECT 1 FROM accounts WHERE id = ?", account):
            continue
        if not await conn.fetchone(
            f"SELECT 1 FROM {_ENTITY_TABLES[kind]} WHERE account = ? AND name = ? AND path = ?",
            account,
            name,
            path,
        ):
            raise MalformedPolicyDocumentException(INVALID_PRINCIPALS_MESSAGE)


def would_lock_out(policy: CompiledPolicy, key_arn: str, caller_arn: str, account: str) -> bool:
    """True if ``policy`` would not let the caller call ``kms:PutKeyPolicy`` again.

    A statement naming the account (delegation to IAM) counts as allowing,
    as AWS's safety check does; a matching Deny locks out.
    """
    ctx = RequestContext(
        action="kms:PutKeyPolicy",
        resource=key_arn,
        principal_arns=caller_arns(caller_arn),
        principal_account=account,
        keys={"kms:calleraccount": account},
    )
    allowed = False
    for statement in policy.statements:
        found = statement.match(ctx, "kms:putkeypolicy")
        if found is PrincipalMatch.NONE:
            continue
        if statement.effect is Effect.DENY:
            return True
        allowed = True
    return not allowed


class PolicyCache:
    """Compiled key policies by (key id, policy version), bounded LRU."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, int], CompiledPolicy] = OrderedDict()

    def get(self, key_id: str, version: int, text: str) -> CompiledPolicy:
        k = (key_id, version)
        hit = self._items.get(k)
        if hit is not None:
            self._items.move_to_end(k)
            return hit
        compiled = compile_key_policy(text)
        self._items[k] = compiled
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return compiled

    def evict(self, key_id: str) -> None:
        for k in [k for k in self._items if k[0] == key_id]:
            del self._items[k]
