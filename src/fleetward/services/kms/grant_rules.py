"""KMS grants as values: the stored grant, tokens, constraints and the policy statements they add.

A grant lets its grantee principal call the grant's operations on one key.
When a key's authorization question is built (``KeyService.check_for``), the
grants that cover the action *and whose constraints the request satisfies*
become ``Allow`` statements for their grantee, appended to the key policy:
so an explicit deny anywhere still wins, as in AWS, and the deciding statement
names the grant in the audit record.

Constraints are matched here, exactly (encryption context keys and values are
case-sensitive, unlike policy condition keys). They apply only to operations
that take an encryption context; DescribeKey and RetireGrant ignore them, and
CreateGrant through a grant requires the new grant to be at least as strict.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy
from fleetward.services.kms.errors import InvalidArnException, InvalidGrantTokenException
from fleetward.storage.db import Conn

__all__ = [
    "CONTEXT_OPERATIONS",
    "ChildGrant",
    "Grant",
    "check_principal",
    "covers",
    "decode_token",
    "load_grants",
    "new_token",
    "stricter",
    "validate_grant_tokens",
    "with_grants",
]

# Grant operations that take an encryption context (constraints apply to these).
CONTEXT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
_TOKEN_FORMAT = 0x01
_TOKEN_BYTES = 1 + 32 + 32
_PRINCIPAL = re.compile(
    r"^arn:aws:(?:iam::\d{12}:(?:root|user/.+|role/.+)|sts::\d{12}:(?:assumed-role/[^/]+/.+|federated-user/.+))$"
)
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
_COLUMNS = (
    "grant_id, key_id, account, name, grantee, retiring, operations, constraints, issuing_account, created"
)


@dataclass(frozen=True, slots=True)
class Grant:
    """One grant as stored (``kms_grants`` row)."""

    grant_id: str
    key_id: str
    account: str
    name: str | None
    grantee: str
    retiring: str | None
    operations: tuple[str, ...]
    subset: Mapping[str, str] | None
    equals: Mapping[str, str] | None
    issuing_account: str
    created: float

    @classmethod
    def from_row(cls, row: Any) -> Grant:
        constraints = json.loads(row["constraints"]) if row["constraints"] else {}
        return cls(
            grant_id=row["grant_id"],
            key_id=row["key_id"],
            account=row["account"],
            name=row["name"],
            grantee=row["grantee"],
            retiring=row["retiring"],
            operations=tuple(json.loads(row["operations"])),
            subset=constraints.get("EncryptionContextSubset"),
            equals=constraints.get("EncryptionContextEquals"),
            issuing_account=row["issuing_account"],
            created=float(row["created"]),
        )

    def constraints(self) -> dict[str, dict[str, str]]:
        """The ``GrantConstraints`` wire shape (empty when unconstrained)."""
        out: dict[str, dict[str, str]] = {}
        if self.subset is not None:
            out["EncryptionContextSubset"] = dict(self.subset)
        if self.equals is not None:
            out["EncryptionContextEquals"] = dict(self.equals)
        return out

    def allows_context(self, context: Mapping[str, str] | None) -> bool:
        """Whether a request with encryption ``context`` satisfies the constraints."""
        ctx = dict(context or {})
        if self.equals is not None and ctx != dict(self.equals):
            return False
        if self.subset is not None and any(ctx.get(k) != v for k, v in self.subset.items()):
            return False
        return True

    def entry(self, key_arn: str) -> dict[str, Any]:
        """The ``GrantListEntry`` AWS returns (KeyId is the key ARN)."""
        out: dict[str, Any] = {
            "KeyId": key_arn,
            "GrantId": self.grant_id,
            "CreationDate": datetime.fromtimestamp(self.created, UTC),
            "GranteePrincipal": self.grantee,
            "IssuingAccount": f"arn:aws:iam::{self.issuing_account}:root",
            "Operations": list(self.operations),
        }
        if self.name is not None:
            out["Name"] = self.name
        if self.retiring is not None:
            out["RetiringPrincipal"] = self.retiring
        constraints = self.constraints()
        if constraints:
            out["Constraints"] = constraints
        return out


def check_principal(value: str, *, allow_service: bool) -> None:
    """Raise ``InvalidArnException`` unless ``value`` names an AWS principal.

    Accepted: account root, IAM user and role ARNs, assumed-role and federated
    user session ARNs, and (grantees only) service principals.
    """
    if _PRINCIPAL.match(value) or (allow_service and _SERVICE.match(value)):
        return
    raise InvalidArnException(f"ARN does not refer to a valid principal: {value}")


def stricter(
    parent: Grant,
    operations: Sequence[str],
    subset: Mapping[str, str] | None,
    equals: Mapping[str, str] | None,
) -> bool:
    """Whether a grant (``operations``, constraints) may be created through ``parent``'s CreateGrant.

    Its operations must be among the parent's, and its constraints equally
    strict or stricter.
    """
    if not set(operations) <= set(parent.operations):
        return False
    if parent.equals is not None:
        return equals is not None and dict(equals) == dict(parent.equals)
    if parent.subset is not None:
        child = dict(equals if equals is not None else subset or {})
        return all(child.get(k) == v for k, v in parent.subset.items())
    return True


# A grant being created: (operations, EncryptionContextSubset, EncryptionContextEquals).
ChildGrant = tuple[Sequence[str], Mapping[str, str] | None, Mapping[str, str] | None]


def covers(
    grant: Grant, operation: str, context: Mapping[str, str] | None, child: ChildGrant | None = None
) -> bool:
    """Whether ``grant`` allows ``operation`` (a grant operation name) for this request."""
    if operation not in grant.operations:
        return False
    if operation in CONTEXT_OPERATIONS:
        return grant.allows_context(context)
    if operation == "CreateGrant" and child is not None:
        return stricter(grant, *child)
    return True


def _principal(grantee: str) -> dict[str, str]:
    return {"Service": grantee} if _SERVICE.match(grantee) else {"AWS": grantee}


def with_grants(policy: CompiledPolicy, action: str, grants: Sequence[Grant]) -> CompiledPolicy:
    """``policy`` plus one Allow of ``action`` for the grantee of each grant in ``grants``."""
    if not grants:
        return policy
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"grant-{g.grant_id}",
                "Effect": "Allow",
                "Principal": _principal(g.grantee),
                "Action": action,
                "Resource": "*",
            }
            for g in grants
        ],
    }
    extra = compile_policy(doc, kind=PolicyKind.RESOURCE, name="grants")
    return replace(policy, statements=policy.statements + extra.statements)


async def load_grants(conn: Conn, key_id: str) -> list[Grant]:
    """Every grant on ``key_id``, oldest first."""
    rows = await conn.fetchall(
        f"SELECT {_COLUMNS} FROM kms_grants WHERE key_id = ? ORDER BY created, grant_id", key_id
    )
    return [Grant.from_row(r) for r in rows]


def new_token(grant_id: str) -> str:
    """A fresh grant token for ``grant_id`` (unique per call; all of a grant's tokens are equivalent)."""
    raw = bytes([_TOKEN_FORMAT]) + bytes.fromhex(grant_id) + os.urandom(32)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> str:
    """The grant id inside a grant token; ``InvalidGrantTokenException`` if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != _TOKEN_BYTES or raw[0] != _TOKEN_FORMAT:
        raise InvalidGrantTokenException()
    return raw[1:33].hex()


def validate_grant_tokens(req: Mapping[str, Any]) -> None:
    """Accept a request's ``GrantTokens`` only if each is a grant token (InvalidGrantTokenException)."""
    for token in req.get("GrantTokens") or ():
        decode_token(token)
