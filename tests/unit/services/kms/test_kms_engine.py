"""KeyService over a real SQLite database: keys, backing keys, rotation, deletion, managed key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.crypto import kms_blob, seal
from fleetward.services.context import CallContext, ServiceEnv
from fleetward.services.kms import rewrap, workers
from fleetward.services.kms.engine import MANAGED_SSM_ALIAS, KeyService, in_write_transaction
from fleetward.services.kms.errors import (
    DisabledException,
    InvalidCiphertextException,
    KMSInvalidStateException,
    NotFoundException,
)
from fleetward.services.kms.model import DAY, KeyEvent, KeyManager, KeyState
from tests.unit.services.kms.conftest import ACCOUNT, REGION


def svc(env: ServiceEnv) -> KeyService:
    s: KeyService = env.extras["kms"]
    return s


def ctx_for(env: ServiceEnv, conn: Any) -> CallContext:
    p = Principal(PrincipalType.IAM_USER, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/u", "AIDA", "AKIA", "u")
    return CallContext("rid", p, REGION, env, conn, now=env.clock.now())


async def new_key(env: ServiceEnv) -> Any:
    async with env.db.write() as conn:
        return await svc(env).create_key(conn, ACCOUNT, REGION, env.clock.now(), description="d")


async def test_encrypt_decrypt_round_trip_and_tamper(env: ServiceEnv) -> None:
    key = await new_key(env)
    async with env.db.read() as conn:
        blob = await svc(env).encrypt(conn, key, b"secret", {"a": "b"})
        assert kms_blob.parse_header(blob).key_id == key.key_id
        assert await svc(env).decrypt(conn, key, blob, {"a": "b"}) == b"secret"
        with pytest.raises(InvalidCiphertextException):
            await svc(env).decrypt(conn, key, blob, {"a": "c"})
        for i in range(len(blob)):
            bad = bytearray(blob)
            bad[i] ^= 1
            with pytest.raises(InvalidCiphertextException):
                found = await svc(env).key_of_blob(conn, bytes(bad), REGION)
                await svc(env).decrypt(conn, found, bytes(bad), {"a": "b"})
        assert (await svc(env).key_of_blob(conn, blob, REGION)).key_id == key.key_id
        with pytest.raises(InvalidCiphertextException):  # keys are regional
            await svc(env).key_of_blob(conn, blob, "eu-west-1")


async def test_backing_key_stored_only_wrapped(env: ServiceEnv) -> None:
    key = await new_key(env)
    material = await svc(env).backing_key(env.db, key, 1)  # type: ignore[arg-type]
    assert material is not None and len(material) == 32
    row = await env.db.fetchone("SELECT wrapped, key_arn FROM kms_key_versions WHERE key_id = ?", key.key_id)
    assert material not in bytes(row["wrapped"])
    aad = kms_blob.backing_key_aad(key.arn, 1)
    assert env.extras["keyring"].unwrap(bytes(row["wrapped"]), aad) == material


async def test_backing_key_unwrapped_after_cache_loss(env: ServiceEnv) -> None:
    key = await new_key(env)
    async with env.db.read() as conn:
        blob = await svc(env).encrypt(conn, key, b"x", {})
    fresh = KeyService(env)  # empty cache: must unwrap from the DB
    async with env.db.read() as conn:
        assert await fresh.decrypt(conn, key, blob, {}) == b"x"


async def test_state_machine(env: ServiceEnv) -> None:
    key = await new_key(env)
    disabled = key.after(KeyEvent.DISABLE)
    async with env.db.read() as conn:
        with pytest.raises(DisabledException, match=f"{key.arn} is disabled."):
            await svc(env).encrypt(conn, disabled, b"x", {})
    assert disabled.after(KeyEvent.DISABLE).state is KeyState.DISABLED  # idempotent
    assert key.after(KeyEvent.ENABLE).state is KeyState.ENABLED
    assert disabled.after(KeyEvent.ENABLE).state is KeyState.ENABLED
    pending = disabled.after(KeyEvent.SCHEDULE_DELETION)
    assert key.after(KeyEvent.SCHEDULE_DELETION).state is KeyState.PENDING_DELETION
    # A key pending deletion takes nothing but CancelKeyDeletion.
    for event in (KeyEvent.ENABLE, KeyEvent.DISABLE, KeyEvent.SCHEDULE_DELETION):
        with pytest.raises(KMSInvalidStateException, match=rf"^{key.arn} is pending deletion\.$"):
            pending.after(event)
    assert pending.after(KeyEvent.CANCEL_DELETION).state is KeyState.DISABLED
    for live in (key, disabled):
        with pytest.raises(KMSInvalidStateException, match=rf"^{key.arn} is not pending deletion\.$"):
            live.after(KeyEvent.CANCEL_DELETION)


async def test_resolve_messages(env: ServiceEnv) -> None:
    key = await new_key(env)
    s = svc(env)
    async with env.db.read() as conn:
        assert (await s.resolve(conn, ACCOUNT, REGION, key.arn)).key_id == key.key_id
        assert (await s.resolve(conn, ACCOUNT, REGION, key.key_id.upper())).key_id == key.key_id
        missing = "00000000-0000-4000-8000-000000000000"
        with pytest.raises(
            NotFoundException, match=f"Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{missing}' does not exist"
        ):
            await s.resolve(conn, ACCOUNT, REGION, missing)
        with pytest.raises(
            NotFoundException, match=r"Alias arn:aws:kms:[^:]+:\d{12}:alias/nope is not found\."
        ):
            await s.resolve(conn, ACCOUNT, REGION, "alias/nope")
        with pytest.raises(NotFoundException, match=r"^Invalid keyId bogus$"):
            await s.resolve(conn, ACCOUNT, REGION, "bogus")
        with pytest.raises(NotFoundException):  # another account's key id
            await s.resolve(conn, "999999999999", REGION, key.key_id)
        # Another account's key by ARN is found (its key policy decides); another region's never.
        assert (await s.resolve(conn, "999999999999", REGION, key.arn)).key_id == key.key_id
        with pytest.raises(NotFoundException, match=rf"^Key '{key.arn}' does not exist$"):
            await s.resolve(conn, ACCOUNT, "eu-west-1", key.arn)
        alias = f"arn:aws:kms:{REGION}:{ACCOUNT}:{MANAGED_SSM_ALIAS}"
        with pytest.raises(NotFoundException, match=rf"^Alias {alias} is not found\.$"):
            await s.resolve(conn, ACCOUNT, "eu-west-1", alias)


async def test_managed_ssm_key_created_once_from_read_and_write(env: ServiceEnv) -> None:
    s = svc(env)
    async with env.db.read() as conn:
        assert not in_write_transaction(conn)
        first = await s.resolve(conn, ACCOUNT, REGION, MANAGED_SSM_ALIAS)
    async with env.db.write() as conn:
        assert in_write_transaction(conn)
        second = await s.resolve(conn, ACCOUNT, REGION, MANAGED_SSM_ALIAS)
    assert first.key_id == second.key_id
    assert first.key_manager is KeyManager.AWS
    assert first.description == "Default key that protects my SSM parameters when no other key is defined"
    # Another account gets its own, created inside the caller's write transaction.
    async with env.db.write() as conn:
        other = await s.resolve(conn, "444455556666", REGION, MANAGED_SSM_ALIAS)
    assert other.key_id != first.key_id


async def test_internal_api_dev_mode(env: ServiceEnv) -> None:
    s = svc(env)
    async with env.db.write() as conn:
        ctx = ctx_for(env, conn)
        arn_ctx = {"PARAMETER_ARN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/p"}
        blob, arn = await s.encrypt_as(
            ctx, "alias/aws/ssm", b"v", arn_ctx, via_service="ssm.us-east-1.amazonaws.com"
        )
        plain, arn2 = await s.decrypt_as(ctx, blob, arn_ctx, via_service="ssm.us-east-1.amazonaws.com")
        data_key, dk_blob, arn3 = await s.generate_data_key_as(
            ctx, arn, arn_ctx, via_service="ssm.us-east-1.amazonaws.com"
        )
        meta = await s.describe(ctx, "alias/aws/ssm")
    assert plain == b"v" and arn == arn2 == arn3 == meta.arn
    assert len(data_key) == 32
    async with env.db.read() as conn:
        key = await s.get(conn, meta.key_id)
        assert key is not None
        assert await s.decrypt(conn, key, dk_blob, arn_ctx) == data_key


async def test_rotation_worker_and_old_ciphertexts(env: ServiceEnv) -> None:
    s = svc(env)
    key = await new_key(env)
    async with env.db.read() as conn:
        old = await s.encrypt(conn, key, b"old", {})
    async with env.db.write() as conn:
        await s.save_state(conn, _rot(key, env))  # rotation every 90 days
    env.clock.offset = 91 * DAY
    assert await workers.rotate_due(env, s) == 1
    assert await workers.rotate_due(env, s) == 0
    async with env.db.read() as conn:
        rotated = await s.get(conn, key.key_id)
        assert rotated is not None and rotated.current_version == 2
        new = await s.encrypt(conn, rotated, b"new", {})
        assert kms_blob.parse_header(new).key_version == 2
        assert await s.decrypt(conn, rotated, old, {}) == b"old"
        assert rotated.next_rotation is not None and rotated.next_rotation > env.clock.now() + 89 * DAY


def _rot(key: Any, env: ServiceEnv) -> Any:
    from dataclasses import replace

    return replace(key, rotation_enabled=True, rotation_period=90, next_rotation=env.clock.now() + 90 * DAY)


async def test_deletion_worker_destroys_after_window_only(env: ServiceEnv) -> None:
    from dataclasses import replace

    s = svc(env)
    key = await new_key(env)
    pending = replace(
        key.after(KeyEvent.SCHEDULE_DELETION), deletion_date=env.clock.now() + 7 * DAY, pending_window=7
    )
    async with env.db.write() as conn:
        await s.save_state(conn, pending)
    env.clock.offset = 6 * DAY
    assert await workers.destroy_due(env, s) == 0
    env.clock.offset = 7 * DAY + 1
    assert await workers.destroy_due(env, s) == 1
    async with env.db.read() as conn:
        assert await s.get(conn, key.key_id) is None
        rows = await conn.fetchall("SELECT * FROM kms_key_versions WHERE key_id = ?", key.key_id)
        assert rows == []


async def test_rewrap_all_after_root_rotation(env: ServiceEnv, tmp_path: Path) -> None:
    s = svc(env)
    key = await new_key(env)
    async with env.db.read() as conn:
        blob = await s.encrypt(conn, key, b"keep", {})
    ring = env.extras["keyring"].with_new_root()
    seal.store_keyring(tmp_path, ring)
    counts = await rewrap.rewrap_all(env.db, ring, rewrap.KMS_WRAPPED_COLUMNS)
    assert counts == {"kms_key_versions": 1}
    assert await rewrap.rewrap_all(env.db, ring, rewrap.KMS_WRAPPED_COLUMNS) == {"kms_key_versions": 0}
    # A server still holding the old keyring reloads it by itself (key-file seal).
    fresh = KeyService(env)
    async with env.db.read() as conn:
        assert await fresh.decrypt(conn, key, blob, {}) == b"keep"
    assert env.extras["keyring"].current_version == 2
