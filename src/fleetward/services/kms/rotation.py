"""KMS key rotation: Enable/DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations.

Rotation adds a backing-key version and makes it current; ciphertexts under
older versions keep decrypting. Scheduled rotations run in the rotation
worker (``workers.py``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import engine, key_scoped, page, require_customer_managed, resolve
from fleetward.services.kms.errors import LimitExceededException, UnsupportedOperationException
from fleetward.services.kms.model import DAY, DEFAULT_ROTATION_DAYS, KeyRecord, KeyState, require_usable

MAX_ON_DEMAND = 10


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _rotatable(key: KeyRecord, operation: str) -> None:
    """Only symmetric encryption keys rotate (UnsupportedOperationException, as AWS)."""
    if not key.symmetric:
        raise UnsupportedOperationException(
            f"{key.arn} has key spec {key.key_spec}: {operation} is supported only on symmetric"
            " encryption KMS keys."
        )


@operation("kms", "EnableKeyRotation", authorize=key_scoped("kms:EnableKeyRotation", allow_alias=False))
async def enable_key_rotation(ctx: CallContext, req: dict[str, Any]) -> None:
    """Rotate every RotationPeriodInDays (90..2560, default 365) from now on."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "EnableKeyRotation")
    _rotatable(key, "EnableKeyRotation")
    require_usable(key)
    period = req.get("RotationPeriodInDays") or DEFAULT_ROTATION_DAYS
    updated = replace(
        key,
        rotation_enabled=True,
        rotation_period=period,
        next_rotation=float(ctx.now) + period * DAY,
    )
    await engine(ctx).save_state(ctx.conn, updated)
    return None


@operation("kms", "DisableKeyRotation", authorize=key_scoped("kms:DisableKeyRotation", allow_alias=False))
async def disable_key_rotation(ctx: CallContext, req: dict[str, Any]) -> None:
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "DisableKeyRotation")
    _rotatable(key, "DisableKeyRotation")
    require_usable(key)
    await engine(ctx).save_state(ctx.conn, replace(key, rotation_enabled=False, next_rotation=None))
    return None


@operation(
    "kms",
    "GetKeyRotationStatus",
    read_only=True,
    authorize=key_scoped("kms:GetKeyRotationStatus", allow_alias=False),
)
async def get_key_rotation_status(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Whether the key rotates; false while it is pending deletion (cancelling the
    deletion brings the setting back, as AWS documents). Disabling changes nothing."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    enabled = key.rotation_enabled and key.state is not KeyState.PENDING_DELETION
    out: dict[str, Any] = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
    if enabled and key.rotation_period:
        out["RotationPeriodInDays"] = key.rotation_period
        if key.next_rotation is not None:
            out["NextRotationDate"] = _dt(key.next_rotation)
    return out


@operation("kms", "RotateKeyOnDemand", authorize=key_scoped("kms:RotateKeyOnDemand", allow_alias=False))
async def rotate_key_on_demand(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Rotate now (at most 10 times per key); DisabledException / KMSInvalidStateException."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    require_customer_managed(key, "RotateKeyOnDemand")
    _rotatable(key, "RotateKeyOnDemand")
    require_usable(key)
    row = await ctx.conn.fetchone(
        "SELECT COUNT(*) AS n FROM kms_key_versions WHERE key_id = ? AND rotation_type = ?",
        key.key_id,
        "ON_DEMAND",
    )
    if row is not None and int(row["n"]) >= MAX_ON_DEMAND:
        raise LimitExceededException(
            f"You have exceeded the maximum number of on-demand rotations ({MAX_ON_DEMAND}) for {key.arn}."
        )
    await engine(ctx).rotate(ctx.conn, key, ctx.now, "ON_DEMAND")
    return {"KeyId": key.key_id}


@operation(
    "kms",
    "ListKeyRotations",
    read_only=True,
    authorize=key_scoped("kms:ListKeyRotations", allow_alias=False),
)
async def list_key_rotations(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Rotations oldest first, each with its KeyMaterialId and KeyMaterialState;
    IncludeKeyMaterial=ALL_KEY_MATERIAL adds a symmetric key's first key material
    (no RotationDate or RotationType, as AWS lists it)."""
    key = await resolve(ctx, req["KeyId"], allow_alias=False)
    limit = req.get("Limit") or 100
    marker = req.get("Marker")
    after = int(marker) if marker and marker.isdigit() else 0
    everything = req.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL" and key.symmetric
    rows = await ctx.conn.fetchall(
        "SELECT version, created, rotation_type FROM kms_key_versions WHERE key_id = ? AND version > ?"
        + ("" if everything else " AND rotation_type IS NOT NULL")
        + " ORDER BY version LIMIT ?",
        key.key_id,
        after,
        limit + 1,
    )
    items, more = page(rows, limit, 100)
    rotations: list[dict[str, Any]] = []
    for r in items:
        version = int(r["version"])
        entry: dict[str, Any] = {
            "KeyId": key.key_id,
            "KeyMaterialId": key.key_material_id(version),
            "KeyMaterialState": "CURRENT" if version == key.current_version else "NON_CURRENT",
        }
        if r["rotation_type"] is not None:
            entry["RotationDate"] = _dt(float(r["created"]))
            entry["RotationType"] = r["rotation_type"]
        rotations.append(entry)
    out: dict[str, Any] = {"Rotations": rotations, "Truncated": more}
    if more:
        out["NextMarker"] = str(items[-1]["version"])
    return out
