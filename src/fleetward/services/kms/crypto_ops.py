"""KMS cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom.

Encrypt / Decrypt / ReEncrypt also take RSA ENCRYPT_DECRYPT keys (``asymmetric.py``);
data keys come from symmetric keys only.

All are read-only calls (as CloudTrail marks them): nothing is stored, in
particular no plaintext and no data key.
"""

from __future__ import annotations

import os
from typing import Any

from fleetward.crypto import kms_blob
from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.kms.asymmetric import rsa_decrypt, rsa_encrypt
from fleetward.services.kms.common import engine, key_scoped, resolve
from fleetward.services.kms.errors import (
    DryRunOperationException,
    IncorrectKeyException,
    InvalidKeyUsageException,
    UnsupportedOperationException,
)
from fleetward.services.kms.grant_rules import validate_grant_tokens
from fleetward.services.kms.model import SYMMETRIC_DEFAULT, KeyRecord

_DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


def _algorithm(req: dict[str, Any], field: str = "EncryptionAlgorithm") -> str:
    algorithm = req.get(field) or SYMMETRIC_DEFAULT
    if algorithm != SYMMETRIC_DEFAULT:
        raise InvalidKeyUsageException(
            f"The encryption algorithm {algorithm} is not supported by a SYMMETRIC_DEFAULT key."
        )
    return algorithm


def _material_id(key: KeyRecord, blob: bytes) -> str:
    """The KeyMaterialId of the backing key a (well-formed) symmetric blob of ``key`` names."""
    return key.key_material_id(kms_blob.parse_header(blob).key_version)


def _dry_run(req: dict[str, Any]) -> None:
    if req.get("DryRun"):
        raise DryRunOperationException()


def _blob(req: dict[str, Any]) -> bytes:
    """The request's CiphertextBlob (optional in the model since Recipient arrived, required in fact)."""
    blob = req.get("CiphertextBlob")
    if blob is None:
        raise ValidationException(
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: "
            "Member must not be null"
        )
    return bytes(blob)


async def _source_key(ctx: CallContext, blob: bytes, key_id: str | None) -> KeyRecord:
    """The key a ciphertext was made under; IncorrectKeyException if ``key_id`` names another.

    An RSA ciphertext carries no key id: the request names the key.
    """
    if key_id:
        named = await resolve(ctx, key_id)
        if not named.symmetric:
            return named
    key = await engine(ctx).key_of_blob(ctx.conn, blob, ctx.region)
    if key_id and named.key_id != key.key_id:
        raise IncorrectKeyException()
    return key


@operation(
    "kms",
    "Encrypt",
    read_only=True,
    authorize=key_scoped("kms:Encrypt", context_field="EncryptionContext"),
)
async def encrypt(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Encrypt up to 4 KB (symmetric) or what RSAES-OAEP fits (RSA ENCRYPT_DECRYPT keys).

    DisabledException / KMSInvalidStateException unless enabled,
    InvalidKeyUsageException for a key that does not encrypt.
    """
    key = await resolve(ctx, req["KeyId"])
    context = req.get("EncryptionContext") or {}
    if not key.symmetric:
        blob, algorithm = await rsa_encrypt(
            ctx, key, req["Plaintext"], req.get("EncryptionAlgorithm"), context
        )
        _dry_run(req)
        return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}
    algorithm = _algorithm(req)
    _dry_run(req)
    blob = await engine(ctx).encrypt(ctx.conn, key, req["Plaintext"], context)
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}


async def _authz_decrypt(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    validate_grant_tokens(req)
    key = await _source_key(ctx, _blob(req), req.get("KeyId"))
    return [
        await engine(ctx).check_for(
            ctx.conn, ctx.account, key, "kms:Decrypt", context=req.get("EncryptionContext")
        )
    ]


async def _open(
    ctx: CallContext, key: KeyRecord, blob: bytes, context: dict[str, str], algorithm: str | None, op: str
) -> tuple[bytes, str]:
    """Plaintext and algorithm of a ciphertext made under ``key`` (symmetric or RSA)."""
    if not key.symmetric:
        return await rsa_decrypt(ctx, key, blob, algorithm, context, op)
    chosen = _algorithm({"EncryptionAlgorithm": algorithm})
    return await engine(ctx).decrypt(ctx.conn, key, blob, context), chosen


@operation("kms", "Decrypt", read_only=True, authorize=_authz_decrypt)
async def decrypt(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Decrypt; works without KeyId (from the blob's header) except for RSA ciphertexts,
    IncorrectKeyException on mismatch, InvalidCiphertextException on any tampering or a
    different encryption context."""
    if req.get("Recipient"):
        raise UnsupportedOperationException("Recipient (Nitro Enclaves) is not supported.")
    key = await _source_key(ctx, _blob(req), req.get("KeyId"))
    context = req.get("EncryptionContext") or {}
    plaintext, algorithm = await _open(
        ctx, key, _blob(req), context, req.get("EncryptionAlgorithm"), "Decrypt"
    )
    _dry_run(req)
    out = {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
    if key.symmetric:
        out["KeyMaterialId"] = _material_id(key, _blob(req))
    return out


async def _authz_reencrypt(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    validate_grant_tokens(req)
    svc = engine(ctx)
    source = await _source_key(ctx, _blob(req), req.get("SourceKeyId"))
    dest = await resolve(ctx, req["DestinationKeyId"])
    return [
        await svc.check_for(
            ctx.conn,
            ctx.account,
            source,
            "kms:ReEncryptFrom",
            context=req.get("SourceEncryptionContext"),
        ),
        await svc.check_for(
            ctx.conn,
            ctx.account,
            dest,
            "kms:ReEncryptTo",
            context=req.get("DestinationEncryptionContext"),
        ),
    ]


@operation("kms", "ReEncrypt", read_only=True, authorize=_authz_reencrypt)
async def re_encrypt(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Decrypt under the source key and context, encrypt under the destination's (symmetric or RSA)."""
    svc = engine(ctx)
    source = await _source_key(ctx, _blob(req), req.get("SourceKeyId"))
    dest = await resolve(ctx, req["DestinationKeyId"])
    plaintext, source_alg = await _open(
        ctx,
        source,
        _blob(req),
        req.get("SourceEncryptionContext") or {},
        req.get("SourceEncryptionAlgorithm"),
        "ReEncrypt",
    )
    dest_context = req.get("DestinationEncryptionContext") or {}
    if dest.symmetric:
        dest_alg = _algorithm(req, "DestinationEncryptionAlgorithm")
        blob = await svc.encrypt(ctx.conn, dest, plaintext, dest_context)
    else:
        blob, dest_alg = await rsa_encrypt(
            ctx, dest, plaintext, req.get("DestinationEncryptionAlgorithm"), dest_context, "ReEncrypt"
        )
    _dry_run(req)
    out = {
        "CiphertextBlob": blob,
        "SourceKeyId": source.arn,
        "KeyId": dest.arn,
        "SourceEncryptionAlgorithm": source_alg,
        "DestinationEncryptionAlgorithm": dest_alg,
    }
    if source.symmetric:
        out["SourceKeyMaterialId"] = _material_id(source, _blob(req))
    if dest.symmetric:
        out["DestinationKeyMaterialId"] = _material_id(dest, blob)
    return out


def _data_key_size(req: dict[str, Any]) -> int:
    size, spec = req.get("NumberOfBytes"), req.get("KeySpec")
    if (size is None) == (spec is None):
        raise ValidationException("Please specify either number of bytes or key spec.")
    return int(size) if size is not None else _DATA_KEY_BYTES[str(spec)]


async def _data_key(ctx: CallContext, req: dict[str, Any]) -> tuple[KeyRecord, bytes, bytes]:
    size = _data_key_size(req)
    if req.get("Recipient"):
        raise UnsupportedOperationException("Recipient (Nitro Enclaves) is not supported.")
    key = await resolve(ctx, req["KeyId"])
    data_key = os.urandom(size)
    blob = await engine(ctx).encrypt(ctx.conn, key, data_key, req.get("EncryptionContext") or {})
    _dry_run(req)
    return key, data_key, blob


@operation(
    "kms",
    "GenerateDataKey",
    read_only=True,
    authorize=key_scoped("kms:GenerateDataKey", context_field="EncryptionContext"),
)
async def generate_data_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """A fresh data key, in plaintext and encrypted; neither is stored."""
    key, data_key, blob = await _data_key(ctx, req)
    return {
        "CiphertextBlob": blob,
        "Plaintext": data_key,
        "KeyId": key.arn,
        "KeyMaterialId": _material_id(key, blob),
    }


@operation(
    "kms",
    "GenerateDataKeyWithoutPlaintext",
    read_only=True,
    authorize=key_scoped("kms:GenerateDataKeyWithoutPlaintext", context_field="EncryptionContext"),
)
async def generate_data_key_without_plaintext(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    key, _data, blob = await _data_key(ctx, req)
    return {"CiphertextBlob": blob, "KeyId": key.arn, "KeyMaterialId": _material_id(key, blob)}


@operation("kms", "GenerateRandom", read_only=True)
async def generate_random(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """1..1024 random bytes from the operating system's CSPRNG."""
    if req.get("CustomKeyStoreId"):
        raise UnsupportedOperationException("Custom key stores are not supported by fleetward.")
    if req.get("Recipient"):
        raise UnsupportedOperationException("Recipient (Nitro Enclaves) is not supported.")
    size = req.get("NumberOfBytes")
    if size is None:
        raise ValidationException("Please specify the number of bytes (NumberOfBytes).")
    return {"Plaintext": os.urandom(int(size))}
