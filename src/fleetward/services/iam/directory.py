"""The identity directory: credentials and compiled policies, cached.

Hot path: :meth:`Directory.credential` and :meth:`Directory.policies` are hit
on every request; a cache hit costs dictionary lookups and no database round
trip. Consistency:

- every IAM or STS write calls :meth:`Directory.invalidate_soon`, which clears
  both caches at once in this process and once more right after the write's
  transaction has committed (so a concurrent load that read the old rows
  cannot re-cache them; loads also carry the cache generation);
- other worker processes (``--workers N``) do not see that invalidation:
  their entries live at most :data:`fleetward.auth.credentials.DEFAULT_TTL`
  seconds (5 s), which bounds how long a deactivated key or a removed
  permission keeps working there.

Secrets are stored only wrapped by the root keyring with the access key id as
associated data; they are decrypted on load and kept in memory only.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from fleetward.auth.credentials import DEFAULT_TTL, Credential, CredentialCache, TtlCache
from fleetward.auth.principal import Principal, PrincipalType
from fleetward.iam.errors import MalformedPolicyError
from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy
from fleetward.services.context import ServiceEnv
from fleetward.services.iam.store import dt, entity_arn, policy_document, tag_map
from fleetward.storage.db import Conn

__all__ = ["Directory", "EntityPolicies", "token_hash"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EntityPolicies:
    """Compiled identity policies of a user (with its groups) or a role, and its boundary."""

    identity: tuple[CompiledPolicy, ...]
    boundary: CompiledPolicy | None
    # Names for the audit record: policy name -> (kind, name or ARN).
    boundary_arn: str | None = None


def _compile(doc: str, name: str) -> CompiledPolicy | None:
    try:
        return compile_policy(doc, kind=PolicyKind.IDENTITY, name=name)
    except MalformedPolicyError:
        return None  # validated on write; an unreadable stored document grants nothing


class Directory:
    """Credential and policy lookup for the authenticator and the authorizer."""

    def __init__(self, env: ServiceEnv, *, ttl: float | None = None) -> None:
        self.env = env
        self.credentials = CredentialCache(ttl=DEFAULT_TTL if ttl is None else ttl)
        self.entity_policies: TtlCache[EntityPolicies] = TtlCache(ttl=DEFAULT_TTL if ttl is None else ttl)

    # -- invalidation -----------------------------------------------------
    def invalidate(self) -> None:
        self.credentials.clear()
        self.entity_policies.clear()

    def invalidate_soon(self) -> None:
        """Invalidate now and again once the current transaction has committed."""
        self.invalidate()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon(self.invalidate)
        loop.call_later(0.25, self.invalidate)

    # -- credentials ------------------------------------------------------
    async def credential(self, access_key: str) -> Credential | None:
        """The credential of ``access_key``, or None when unknown/deleted."""
        cached = self.credentials.get(access_key)
        if cached is not None:
            return cached
        generation = self.credentials.generation
        async with self.env.db.read() as conn:
            if access_key.startswith("ASIA"):
                cred = await self._load_session(conn, access_key)
            else:
                cred = await self._load_user_key(conn, access_key)
        if cred is not None:
            self.credentials.put(access_key, cred, generation)
        return cred

    def _unwrap(self, blob: bytes, access_key: str) -> str:
        keyring = self.env.extras.get("keyring")
        if keyring is None:
            raise RuntimeError("sealed")
        return bytes(keyring.unwrap(bytes(blob), access_key.encode())).decode()

    async def _load_user_key(self, conn: Conn, access_key: str) -> Credential | None:
        row = await conn.fetchone(
            "SELECT k.secret, k.status, u.id AS user_id, u.account, u.name, u.path, u.tags AS user_tags"
            " FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.access_key_id = ?",
            access_key,
        )
        if row is None:
            return None
        return Credential(
            access_key,
            self._unwrap(row["secret"], access_key),
            _user_principal(row, access_key),
            active=row["status"] == "Active",
        )

    async def _load_session(self, conn: Conn, access_key: str) -> Credential | None:
        row = await conn.fetchone(
            "SELECT s.*, r.name AS role_name, r.path AS role_path, r.tags AS role_tags"
            " FROM sts_sessions s JOIN iam_roles r ON r.id = s.role_id WHERE s.access_key_id = ?",
            access_key,
        )
        if row is None:
            return await self._load_user_session(conn, access_key)
        account = row["account"]
        session_tags = dict(orjson.loads(row["tags"]))
        principal = Principal(
            type=PrincipalType.ASSUMED_ROLE,
            account=account,
            arn=f"arn:aws:sts::{account}:assumed-role/{row['role_name']}/{row['session_name']}",
            principal_id=f"{row['role_id']}:{row['session_name']}",
            access_key=access_key,
            name=row["session_name"],
            entity_id=row["role_id"],
            tags=tag_map(orjson.loads(row["role_tags"])),
            session_tags=session_tags,
            role_arn=entity_arn(account, "role", row["role_path"], row["role_name"]),
            role_name=row["role_name"],
            session_name=row["session_name"],
            session_created=dt(row["created"]),
            session_expires=dt(row["expires"]),
            session_id=access_key,
            source_identity=row["source_identity"],
        )
        session: list[CompiledPolicy] = []
        if row["policy"]:
            compiled = _compile(row["policy"], "SessionPolicy")
            if compiled is not None:
                session.append(compiled)
        for arn in orjson.loads(row["policy_arns"]):
            doc = await policy_document(conn, arn)
            compiled = _compile(doc, arn) if doc else None
            if compiled is not None:
                session.append(compiled)
        session_given = bool(row["policy"]) or bool(orjson.loads(row["policy_arns"]))
        # A session created with session policies that all vanished grants nothing:
        # keep a never-matching marker rather than dropping the restriction.
        if session_given and not session:
            session.append(
                compile_policy(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Deny", "NotAction": "*", "Resource": "*"}],
                    },
                    name="SessionPolicy",
                )
            )
        return Credential(
            access_key,
            self._unwrap(row["secret"], access_key),
            principal,
            token_hash=row["token_hash"],
            expires=float(row["expires"]),
            extra=tuple(session),
        )

    async def _load_user_session(self, conn: Conn, access_key: str) -> Credential | None:
        """A GetSessionToken session: the user itself, with the session's expiry
        (its permissions are the user's; no session policies)."""
        row = await conn.fetchone(
            "SELECT s.*, u.name, u.path, u.tags AS user_tags"
            " FROM sts_user_sessions s JOIN iam_users u ON u.id = s.user_id WHERE s.access_key_id = ?",
            access_key,
        )
        if row is None:
            return None
        principal = _user_principal(
            row,
            access_key,
            mfa=bool(row["mfa"]),
            session_created=dt(row["created"]),
            session_expires=dt(row["expires"]),
            session_id=access_key,
        )
        return Credential(
            access_key,
            self._unwrap(row["secret"], access_key),
            principal,
            token_hash=row["token_hash"],
            expires=float(row["expires"]),
        )

    async def session_policies(self, principal: Principal) -> tuple[CompiledPolicy, ...]:
        if principal.type is not PrincipalType.ASSUMED_ROLE:
            return ()
        cred = await self.credential(principal.access_key)
        return tuple(cred.extra or ()) if cred is not None else ()

    # -- policies ---------------------------------------------------------
    async def policies(self, principal: Principal) -> EntityPolicies:
        """Identity policies and boundary for the user or role behind ``principal``."""
        kind = "role" if principal.type is PrincipalType.ASSUMED_ROLE else "user"
        key = f"{kind}:{principal.entity_id}"
        cached = self.entity_policies.get(key)
        if cached is not None:
            return cached
        generation = self.entity_policies.generation
        async with self.env.db.read() as conn:
            loaded = await self.load_policies(conn, kind, principal.entity_id)
        self.entity_policies.put(key, loaded, generation)
        return loaded

    async def load_policies(self, conn: Conn, kind: str, entity_id: str) -> EntityPolicies:
        entities = [(kind, entity_id)]
        if kind == "user":
            groups = await conn.fetchall(
                "SELECT group_id FROM iam_group_members WHERE user_id = ?", entity_id
            )
            entities += [("group", g[0]) for g in groups]
        out: list[CompiledPolicy] = []
        for etype, eid in entities:
            for row in await conn.fetchall(
                "SELECT name, document FROM iam_inline_policies WHERE entity_type = ? AND entity_id = ? ORDER BY name",
                etype,
                eid,
            ):
                compiled = _compile(row["document"], row["name"])
                if compiled is not None:
                    out.append(compiled)
            for row in await conn.fetchall(
                "SELECT policy_arn FROM iam_attachments WHERE entity_type = ? AND entity_id = ? ORDER BY policy_arn",
                etype,
                eid,
            ):
                doc = await policy_document(conn, row[0])
                compiled = _compile(doc, row[0]) if doc else None
                if compiled is not None:
                    out.append(compiled)
        table = "iam_roles" if kind == "role" else "iam_users"
        brow = await conn.fetchone(f"SELECT boundary_arn FROM {table} WHERE id = ?", entity_id)
        boundary: CompiledPolicy | None = None
        boundary_arn = brow[0] if brow else None
        if boundary_arn:
            doc = await policy_document(conn, boundary_arn)
            boundary = _compile(doc, boundary_arn) if doc else None
            if boundary is None:  # a boundary that cannot be read allows nothing
                boundary = compile_policy(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Deny", "NotAction": "*", "Resource": "*"}],
                    },
                    name=boundary_arn,
                )
        return EntityPolicies(tuple(out), boundary, boundary_arn)


def json_tags(tags: dict[str, str]) -> Any:
    return orjson.dumps(tags).decode()


def _user_principal(row: Any, access_key: str, **session: Any) -> Principal:
    """The IAM user that a user's access key or GetSessionToken session acts as
    (``row``: ``user_id``, ``account``, ``name``, ``path``, ``user_tags``)."""
    return Principal(
        type=PrincipalType.IAM_USER,
        account=row["account"],
        arn=entity_arn(row["account"], "user", row["path"], row["name"]),
        principal_id=row["user_id"],
        access_key=access_key,
        name=row["name"],
        entity_id=row["user_id"],
        tags=tag_map(orjson.loads(row["user_tags"])),
        **session,
    )
