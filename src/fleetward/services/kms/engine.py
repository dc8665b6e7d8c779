"""The key service core: keys, backing keys and cryptographic operations over the DB.

Every method takes the connection to work on (the call's ``ctx.conn``), so
it runs inside the caller's transaction and never opens a second write
transaction of its own, with one exception: the AWS managed key
``alias/aws/ssm`` is created on first use, in the caller's transaction when
there is one, otherwise in a short write transaction of its own (a read-only
call holds no write lock, so this cannot deadlock).

Backing keys are 32 random bytes (SYMMETRIC_DEFAULT keys) or the key material
of asymmetric and HMAC keys (``crypto.kms_keys``), stored only wrapped by the
root keyring with ``kms_blob.backing_key_aad(key ARN, version)``; unwrapped
ones are kept in a bounded in-memory cache.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from fleetward.audit.record import build_record
from fleetward.crypto import kms_blob, kms_keys
from fleetward.crypto.errors import CryptoError
from fleetward.crypto.keyring import Keyring
from fleetward.iam.policy import CompiledPolicy
from fleetward.protocol.errors import AWSError
from fleetward.protocol.registry import Check
from fleetward.services.context import CallContext, ServiceEnv
from fleetward.services.kms.errors import (
    InvalidCiphertextException,
    KMSInternalException,
    NotFoundException,
)
from fleetward.services.kms.grant_rules import ChildGrant, covers, load_grants, with_grants
from fleetward.services.kms.keypolicy import PolicyCache, default_policy, managed_ssm_policy
from fleetward.services.kms.model import (
    DAY,
    DEFAULT_ROTATION_DAYS,
    ENCRYPT_DECRYPT,
    SYMMETRIC_DEFAULT,
    KeyManager,
    KeyRecord,
    KeyState,
    require_usable,
    require_usage,
)
from fleetward.storage.db import Conn

__all__ = ["MANAGED_SSM_ALIAS", "KeyService", "alias_arn", "in_write_transaction", "key_arn"]

log = logging.getLogger("fleetward.kms")

MANAGED_SSM_ALIAS = "alias/aws/ssm"
MANAGED_SSM_DESCRIPTION = "Default key that protects my SSM parameters when no other key is defined"
RESOURCE_TYPE = "AWS::KMS::Key"
_KEY_COLUMNS = (
    "key_id, account, region, arn, description, key_usage, key_spec, key_manager, state, created,"
    " deletion_date, pending_window, policy, policy_version, rotation_enabled, rotation_period,"
    " next_rotation, current_version"
)


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def in_write_transaction(conn: Conn) -> bool:
    """Whether ``conn`` is inside an open transaction (a mutating call's ``ctx.conn``).

    When it cannot tell, says True: writing through the caller's connection
    never deadlocks, taking a second write transaction might.
    """
    raw = getattr(conn, "_c", None)
    flag = getattr(raw, "in_transaction", None)
    if isinstance(flag, bool):
        return flag  # sqlite3
    probe = getattr(raw, "is_in_transaction", None)
    if callable(probe):
        return bool(probe())  # asyncpg
    return True


def _take_decisions(ctx: CallContext, before: int) -> list[dict[str, Any]]:
    """The authorization decisions noted in ``ctx.audit_extra`` after index ``before``, removed."""
    decisions: list[dict[str, Any]] = ctx.audit_extra.get("authorization", [])
    taken = decisions[before:]
    del decisions[before:]
    if not decisions:
        ctx.audit_extra.pop("authorization", None)
    return taken


def _canonical_uuid(text: str) -> str | None:
    try:
        value = uuid.UUID(text)
    except ValueError:
        return None
    return str(value) if str(value) == text.lower() and len(text) == 36 else None


class KeyService:
    """KMS keys and cryptography for the API operations and for other services.

    Other services use the ``*_as`` methods, which authorize the caller
    (``ctx.principal``) on the key policy with ``kms:ViaService`` set.
    """

    def __init__(self, env: ServiceEnv, *, cache_size: int = 4096) -> None:
        self.env = env
        self.policies = PolicyCache(cache_size)
        self._backing: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._reload_lock = asyncio.Lock()

    # -- root of trust ------------------------------------------------------
    @property
    def keyring(self) -> Keyring:
        ring = self.env.extras.get("keyring")
        if ring is None:
            raise KMSInternalException("fleetward is sealed")
        return ring  # type: ignore[no-any-return]

    async def _unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        try:
            return self.keyring.unwrap(wrapped, aad)
        except CryptoError:
            pass
        # A root rotated by `fleetward operator rotate-root` after we started:
        # re-read the keyring (key-file seal) and try again.
        version = struct.unpack_from(">I", wrapped, 1)[0] if len(wrapped) >= 5 else 0
        if version not in self.keyring.versions and await self.reload_keyring():
            try:
                return self.keyring.unwrap(wrapped, aad)
            except CryptoError:
                pass
        log.error("a backing key could not be unwrapped by the root keyring")
        raise KMSInternalException()

    async def reload_keyring(self, passphrase: str | None = None) -> bool:
        """Re-read the sealed root from the data directory (new root versions).

        Key-file seals need no passphrase. Returns False when the root cannot
        be opened (the current keyring stays in place).
        """
        from fleetward.crypto import seal

        async with self._reload_lock:
            try:
                ring = await asyncio.to_thread(seal.unseal, self.env.settings.data_dir, passphrase=passphrase)
            except CryptoError:
                return False
            self.env.extras["keyring"] = ring
            return True

    # -- backing keys --------------------------------------------------------
    def _cache_put(self, key_id: str, version: int, material: bytes) -> None:
        self._backing[(key_id, version)] = material
        self._backing.move_to_end((key_id, version))
        if len(self._backing) > self._cache_size:
            self._backing.popitem(last=False)

    def evict(self, key_id: str) -> None:
        """Forget the cached backing keys and policies of ``key_id``."""
        for k in [k for k in self._backing if k[0] == key_id]:
            del self._backing[k]
        self.policies.evict(key_id)

    async def _add_version(
        self, conn: Conn, key: KeyRecord, version: int, now: float, rotation_type: str | None
    ) -> None:
        if key.key_spec == SYMMETRIC_DEFAULT:
            material = os.urandom(32)
        else:  # RSA generation takes a while: off the event loop
            material = await asyncio.to_thread(kms_keys.generate, key.key_spec)
        wrapped = self.keyring.wrap(material, kms_blob.backing_key_aad(key.arn, version))
        await conn.execute(
            "INSERT INTO kms_key_versions (key_id, version, key_arn, wrapped, created, rotation_type)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            key.key_id,
            version,
            key.arn,
            wrapped,
            float(now),
            rotation_type,
        )
        self._cache_put(key.key_id, version, material)

    async def backing_key(self, conn: Conn, key: KeyRecord, version: int) -> bytes | None:
        """The plaintext backing key ``version`` of ``key``; None if there is no such version."""
        hit = self._backing.get((key.key_id, version))
        if hit is not None:
            return hit
        row = await conn.fetchone(
            "SELECT wrapped FROM kms_key_versions WHERE key_id = ? AND version = ?",
            key.key_id,
            version,
        )
        if row is None:
            return None
        material = await self._unwrap(bytes(row["wrapped"]), kms_blob.backing_key_aad(key.arn, version))
        self._cache_put(key.key_id, version, material)
        return material

    # -- lookup ---------------------------------------------------------------
    async def get(self, conn: Conn, key_id: str) -> KeyRecord | None:
        """The key with this id (any account), or None."""
        row = await conn.fetchone(f"SELECT {_KEY_COLUMNS} FROM kms_keys WHERE key_id = ?", key_id)
        return KeyRecord.from_row(row) if row is not None else None

    async def resolve(
        self,
        conn: Conn,
        account: str,
        region: str,
        key_id: str,
        *,
        allow_alias: bool = True,
        now: float | None = None,
    ) -> KeyRecord:
        """Find a key by key id, key ARN, alias name or alias ARN.

        ``alias/aws/ssm`` is created on first use. An ARN may name another
        account's key, never another region's: keys are regional. Raises
        ``NotFoundException`` with AWS's messages ("Key '<arn>' does not
        exist", "Alias <alias ARN> is not found.", "Invalid keyId <x>").
        """
        if key_id.startswith("arn:"):
            parts = key_id.split(":", 5)
            if len(parts) == 6 and parts[2] == "kms":
                resource = parts[5]
                if resource.startswith("key/"):
                    kid = _canonical_uuid(resource[4:])
                    if kid is not None and parts[3] != region:
                        raise NotFoundException(f"Key '{key_id}' does not exist")
                    if kid is not None:
                        return await self._by_id(conn, parts[4], parts[3], kid)
                elif resource.startswith("alias/") and allow_alias:
                    if parts[3] != region:
                        raise NotFoundException(f"Alias {key_id} is not found.")
                    return await self._by_alias(conn, parts[4], parts[3], resource, now)
            raise NotFoundException(f"Invalid keyId {key_id}")
        if key_id.startswith("alias/") and allow_alias:
            return await self._by_alias(conn, account, region, key_id, now)
        kid = _canonical_uuid(key_id)
        if kid is None:
            raise NotFoundException(f"Invalid keyId {key_id}")
        return await self._by_id(conn, account, region, kid)

    async def _by_id(self, conn: Conn, account: str, region: str, kid: str) -> KeyRecord:
        key = await self.get(conn, kid)
        if key is None or key.account != account or key.region != region:
            raise NotFoundException(f"Key '{key_arn(region, account, kid)}' does not exist")
        return key

    async def _by_alias(
        self, conn: Conn, account: str, region: str, name: str, now: float | None
    ) -> KeyRecord:
        row = await conn.fetchone(
            "SELECT k.key_id FROM kms_aliases a JOIN kms_keys k ON k.key_id = a.key_id"
            " WHERE a.account = ? AND a.region = ? AND a.name = ?",
            account,
            region,
            name,
        )
        if row is None and name == MANAGED_SSM_ALIAS:
            kid = await self.ensure_managed_ssm_key(conn, account, region, now)
            return await self._by_id(conn, account, region, kid)
        if row is None:
            raise NotFoundException(f"Alias {alias_arn(region, account, name)} is not found.")
        return await self._by_id(conn, account, region, row["key_id"])

    # -- key life cycle ----------------------------------------------------------
    async def create_key(
        self,
        conn: Conn,
        account: str,
        region: str,
        now: float,
        *,
        description: str = "",
        policy: str | None = None,
        tags: Sequence[tuple[str, str]] = (),
        manager: KeyManager = KeyManager.CUSTOMER,
        key_id: str | None = None,
        key_spec: str = SYMMETRIC_DEFAULT,
        key_usage: str = ENCRYPT_DECRYPT,
    ) -> KeyRecord:
        """Insert a new enabled key with key-material version 1 (wrapped by the root keyring).

        ``key_spec`` / ``key_usage`` must be a combination CreateKey accepted.
        """
        kid = key_id or str(uuid.uuid4())
        managed = manager is KeyManager.AWS
        key = KeyRecord(
            key_id=kid,
            account=account,
            region=region,
            arn=key_arn(region, account, kid),
            description=description,
            key_usage=key_usage,
            key_spec=key_spec,
            key_manager=manager,
            state=KeyState.ENABLED,
            created=float(now),
            deletion_date=None,
            pending_window=None,
            policy=policy if policy is not None else default_policy(account),
            policy_version=1,
            # AWS rotates its managed keys every year.
            rotation_enabled=managed,
            rotation_period=DEFAULT_ROTATION_DAYS if managed else None,
            next_rotation=float(now) + DEFAULT_ROTATION_DAYS * DAY if managed else None,
            current_version=1,
        )
        await conn.execute(
            f"INSERT INTO kms_keys ({_KEY_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            key.key_id,
            key.account,
            key.region,
            key.arn,
            key.description,
            key.key_usage,
            key.key_spec,
            str(key.key_manager),
            str(key.state),
            key.created,
            None,
            None,
            key.policy,
            key.policy_version,
            int(key.rotation_enabled),
            key.rotation_period,
            key.next_rotation,
            key.current_version,
        )
        await self._add_version(conn, key, 1, now, None)
        if tags:
            await conn.executemany(
                "INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)",
                [(kid, k, v) for k, v in tags],
            )
        return key

    async def ensure_managed_ssm_key(self, conn: Conn, account: str, region: str, now: float | None) -> str:
        """The key id behind ``alias/aws/ssm`` in this account and region, created if missing."""
        if in_write_transaction(conn):
            return await self._create_managed(conn, account, region, now)
        async with self.env.db.write() as wconn:
            return await self._create_managed(wconn, account, region, now)

    async def _create_managed(self, conn: Conn, account: str, region: str, now: float | None) -> str:
        row = await conn.fetchone(
            "SELECT key_id FROM kms_aliases WHERE account = ? AND region = ? AND name = ?",
            account,
            region,
            MANAGED_SSM_ALIAS,
        )
        if row is not None:
            return str(row["key_id"])
        when = float(now if now is not None else self.env.clock.now())
        key = await self.create_key(
            conn,
            account,
            region,
            when,
            description=MANAGED_SSM_DESCRIPTION,
            policy=managed_ssm_policy(account, region),
            manager=KeyManager.AWS,
        )
        won = await conn.fetchone(
            "INSERT INTO kms_aliases (account, region, name, key_id, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, region, name) DO NOTHING"
            " RETURNING key_id",
            account,
            region,
            MANAGED_SSM_ALIAS,
            key.key_id,
            when,
            when,
        )
        if won is not None:
            return key.key_id
        # Another transaction created it first: drop ours, use theirs.
        await self.destroy(conn, key.key_id)
        row = await conn.fetchone(
            "SELECT key_id FROM kms_aliases WHERE account = ? AND region = ? AND name = ?",
            account,
            region,
            MANAGED_SSM_ALIAS,
        )
        if row is None:
            raise KMSInternalException()
        return str(row["key_id"])

    async def save_state(self, conn: Conn, key: KeyRecord) -> None:
        """Persist state, deletion schedule and rotation settings of ``key``."""
        await conn.execute(
            "UPDATE kms_keys SET state = ?, deletion_date = ?, pending_window = ?,"
            " rotation_enabled = ?, rotation_period = ?, next_rotation = ? WHERE key_id = ?",
            str(key.state),
            key.deletion_date,
            key.pending_window,
            int(key.rotation_enabled),
            key.rotation_period,
            key.next_rotation,
            key.key_id,
        )

    async def rotate(self, conn: Conn, key: KeyRecord, now: float, rotation_type: str) -> KeyRecord:
        """Add a backing-key version and make it current; old versions keep decrypting.

        An AUTOMATIC rotation also schedules the next one.
        """
        version = key.current_version + 1
        await self._add_version(conn, key, version, now, rotation_type)
        next_rotation = key.next_rotation
        if rotation_type == "AUTOMATIC" and key.rotation_period:
            next_rotation = float(now) + key.rotation_period * DAY
        await conn.execute(
            "UPDATE kms_keys SET current_version = ?, next_rotation = ? WHERE key_id = ?",
            version,
            next_rotation,
            key.key_id,
        )
        return KeyRecord.from_row(
            await conn.fetchone(f"SELECT {_KEY_COLUMNS} FROM kms_keys WHERE key_id = ?", key.key_id)
        )

    async def destroy(self, conn: Conn, kid: str) -> None:
        """Delete a key, its backing keys, aliases, tags and grants for good."""
        for table in ("kms_key_versions", "kms_tags", "kms_aliases", "kms_grants", "kms_keys"):
            await conn.execute(f"DELETE FROM {table} WHERE key_id = ?", kid)
        self.evict(kid)

    async def tags(self, conn: Conn, kid: str) -> list[tuple[str, str]]:
        rows = await conn.fetchall(
            "SELECT tag_key, tag_value FROM kms_tags WHERE key_id = ? ORDER BY tag_key", kid
        )
        return [(r["tag_key"], r["tag_value"]) for r in rows]

    # -- cryptography -------------------------------------------------------------
    async def encrypt(
        self, conn: Conn, key: KeyRecord, plaintext: bytes, context: Mapping[str, str]
    ) -> bytes:
        """A ciphertext blob of ``plaintext`` under the key's current backing key.

        Raises ``DisabledException`` / ``KMSInvalidStateException`` unless enabled,
        ``InvalidKeyUsageException`` unless a SYMMETRIC_DEFAULT key.
        """
        require_usable(key)
        require_usage(key, ENCRYPT_DECRYPT, "this operation", symmetric=True)
        material = await self.backing_key(conn, key, key.current_version)
        if material is None:
            raise KMSInternalException()
        header = kms_blob.BlobHeader(key.key_id, key.current_version)
        try:
            return kms_blob.encrypt_blob(header, material, plaintext, context)
        except CryptoError as e:
            raise InvalidCiphertextException("Invalid encryption context.") from e

    async def key_of_blob(self, conn: Conn, blob: bytes, region: str) -> KeyRecord:
        """The key named by a ciphertext blob's header (unauthenticated: decrypt checks).

        KMS keys are regional: a blob opens only in its key's region. Raises
        ``InvalidCiphertextException`` for a malformed blob, an unknown key or
        a key of another region.
        """
        try:
            header = kms_blob.parse_header(blob)
        except CryptoError as e:
            raise InvalidCiphertextException() from e
        key = await self.get(conn, header.key_id)
        if key is None or key.region != region:
            raise InvalidCiphertextException()
        return key

    async def decrypt(self, conn: Conn, key: KeyRecord, blob: bytes, context: Mapping[str, str]) -> bytes:
        """Authenticate and decrypt ``blob`` (made under ``key``) with ``context``.

        Raises ``InvalidCiphertextException`` if any byte was changed or the
        context differs; ``DisabledException`` / ``KMSInvalidStateException``.
        """
        try:
            header = kms_blob.parse_header(blob)
        except CryptoError as e:
            raise InvalidCiphertextException() from e
        if header.key_id != key.key_id:
            raise InvalidCiphertextException()
        require_usable(key)
        material = await self.backing_key(conn, key, header.key_version)
        if material is None:
            raise InvalidCiphertextException()
        try:
            return kms_blob.decrypt_blob(blob, material, context)
        except CryptoError as e:
            raise InvalidCiphertextException() from e

    # -- authorization ---------------------------------------------------------------
    def compiled_policy(self, key: KeyRecord) -> CompiledPolicy:
        return self.policies.get(key.key_id, key.policy_version, key.policy)

    async def check_for(
        self,
        conn: Conn,
        account: str,
        key: KeyRecord,
        action: str,
        *,
        context: Mapping[str, str] | None = None,
        via_service: str | None = None,
        child_grant: ChildGrant | None = None,
        extra_keys: Mapping[str, Any] | None = None,
    ) -> Check:
        """The authorization question for ``action`` on ``key`` (key policy required).

        The key policy is extended with the grants on the key that allow
        ``action`` for this request (``context``; ``child_grant`` for a
        CreateGrant: its operations and constraints). ``extra_keys`` are more
        request condition keys (tags, grant keys).
        """
        keys: dict[str, Any] = {"kms:calleraccount": account}
        if via_service:
            keys["kms:viaservice"] = via_service
        if context:
            for k, v in context.items():
                keys[f"kms:encryptioncontext:{k.lower()}"] = v
            keys["kms:encryptioncontextkeys"] = sorted(context)
        for tk, tv in await self.tags(conn, key.key_id):
            keys[f"aws:resourcetag/{tk.lower()}"] = tv
        if extra_keys:
            keys.update(extra_keys)
        operation = action.split(":", 1)[1]
        grants = [
            g for g in await load_grants(conn, key.key_id) if covers(g, operation, context, child_grant)
        ]
        return Check(
            action,
            key.arn,
            keys=keys,
            resource_policy=with_grants(self.compiled_policy(key), action, grants),
            resource_policy_required=True,
            resource_account=key.account,
            resource_type=RESOURCE_TYPE,
        )

    async def _authorize_as(
        self, ctx: CallContext, check: Check, *, via_service: str, context: Mapping[str, str]
    ) -> None:
        """Authorize the caller for a call another service makes on its behalf,
        and record it in the trail as CloudTrail does (``invokedBy``)."""
        authorizer = ctx.env.extras.get("authorizer")
        checker = getattr(authorizer, "check", None)
        # The checker notes its decision in ctx.audit_extra, the outer call's:
        # it belongs to this call's own record instead.
        before = len(ctx.audit_extra.get("authorization", ()))
        try:
            if checker is not None:  # an authorizer without mid-call checks allows everything
                await checker(ctx, check)
        except AWSError as e:
            await self._record_as(ctx, check, via_service, context, e, _take_decisions(ctx, before))
            raise
        await self._record_as(ctx, check, via_service, context, None, _take_decisions(ctx, before))

    async def _record_as(
        self,
        ctx: CallContext,
        check: Check,
        via_service: str,
        context: Mapping[str, str],
        error: AWSError | None,
        decisions: list[dict[str, Any]],
    ) -> None:
        audit = ctx.env.extras.get("audit")
        if audit is None:
            return
        record = build_record(
            principal=ctx.principal,
            account=ctx.account,
            access_key=ctx.principal.access_key or None,
            region=ctx.region,
            event_source="kms.amazonaws.com",
            event_name=check.action.split(":", 1)[1],
            event_time=ctx.now,
            request_id=ctx.request_id,
            source_ip=ctx.source_ip,
            user_agent=ctx.user_agent,
            read_only=True,
            request_parameters={"keyId": check.resource, "encryptionContext": dict(context) or None},
            response_elements=None,
            resources=[{"ARN": check.resource, "type": RESOURCE_TYPE}],
            error_code=error.code if error else None,
            error_message=error.message if error else None,
            additional={"authorization": decisions} if decisions else None,
            invoked_by=via_service.split(".", 1)[0] + ".amazonaws.com",
        )
        ctx.related_records.append(record)

    # -- internal API for other services ------------------------------------------------
    async def encrypt_as(
        self,
        ctx: CallContext,
        key_id: str,
        plaintext: bytes,
        context: Mapping[str, str],
        *,
        via_service: str,
    ) -> tuple[bytes, str]:
        """Encrypt as the caller (``kms:Encrypt`` with ``kms:ViaService``); -> (blob, key ARN).

        Raises NotFoundException, AccessDeniedException, DisabledException,
        KMSInvalidStateException.
        """
        key = await self.resolve(ctx.conn, ctx.account, ctx.region, key_id, now=ctx.now)
        check = await self.check_for(
            ctx.conn, ctx.account, key, "kms:Encrypt", context=context, via_service=via_service
        )
        await self._authorize_as(ctx, check, via_service=via_service, context=context)
        return await self.encrypt(ctx.conn, key, plaintext, context), key.arn

    async def decrypt_as(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str], *, via_service: str
    ) -> tuple[bytes, str]:
        """Decrypt as the caller (``kms:Decrypt`` with ``kms:ViaService``); -> (plaintext, key ARN).

        Raises InvalidCiphertextException (tampered blob, wrong context),
        AccessDeniedException, DisabledException, KMSInvalidStateException.
        """
        key = await self.key_of_blob(ctx.conn, blob, ctx.region)
        check = await self.check_for(
            ctx.conn, ctx.account, key, "kms:Decrypt", context=context, via_service=via_service
        )
        await self._authorize_as(ctx, check, via_service=via_service, context=context)
        return await self.decrypt(ctx.conn, key, blob, context), key.arn

    async def generate_data_key_as(
        self, ctx: CallContext, key_id: str, context: Mapping[str, str], *, via_service: str
    ) -> tuple[bytes, bytes, str]:
        """A fresh 32-byte data key as the caller (``kms:GenerateDataKey``).

        Returns (plaintext data key, its ciphertext blob, key ARN); errors as
        :meth:`encrypt_as`.
        """
        key = await self.resolve(ctx.conn, ctx.account, ctx.region, key_id, now=ctx.now)
        check = await self.check_for(
            ctx.conn,
            ctx.account,
            key,
            "kms:GenerateDataKey",
            context=context,
            via_service=via_service,
        )
        await self._authorize_as(ctx, check, via_service=via_service, context=context)
        data_key = os.urandom(32)
        return data_key, await self.encrypt(ctx.conn, key, data_key, context), key.arn

    async def describe(self, ctx: CallContext, key_id: str) -> KeyRecord:
        """The key named by ``key_id`` (id, ARN, alias), without authorization.

        Raises NotFoundException.
        """
        return await self.resolve(ctx.conn, ctx.account, ctx.region, key_id, now=ctx.now)
