"""Asymmetric and HMAC keys: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, and the
RSA encryption that Encrypt / Decrypt / ReEncrypt use for RSA ENCRYPT_DECRYPT keys.

The private key (or HMAC secret) is the key's material, wrapped by the root
keyring like a symmetric backing key; it is unwrapped only to compute and is
never returned. All operations here are read-only calls: nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetward.crypto import kms_keys
from fleetward.crypto.errors import CryptoError
from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.kms.common import engine, key_scoped, resolve
from fleetward.services.kms.errors import (
    DryRunOperationException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInternalException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
)
from fleetward.services.kms.model import (
    ENCRYPT_DECRYPT,
    GENERATE_VERIFY_MAC,
    SIGN_VERIFY,
    KeyRecord,
    require_usable,
    require_usage,
)

__all__ = ["rsa_decrypt", "rsa_encrypt"]


async def _material(ctx: CallContext, key: KeyRecord) -> bytes:
    material = await engine(ctx).backing_key(ctx.conn, key, key.current_version)
    if material is None:
        raise KMSInternalException()
    return material


def _choice(value: str | None, member: str, allowed: list[str]) -> str:
    """An algorithm the key supports, with the model's enum wording otherwise (ValidationException)."""
    if value not in allowed:
        shown = "null" if value is None else f"'{value}'"
        raise ValidationException(
            f"1 validation error detected: Value {shown} at '{member}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return value


def _dry_run(req: Mapping[str, Any]) -> None:
    if req.get("DryRun"):
        raise DryRunOperationException()


# -- RSA encryption (used by crypto_ops) ------------------------------------------


def _rsa_checks(key: KeyRecord, algorithm: str | None, context: Mapping[str, str] | None, op: str) -> str:
    require_usage(key, ENCRYPT_DECRYPT, op, symmetric=False)
    chosen = _choice(algorithm, "encryptionAlgorithm", kms_keys.ENCRYPTION_ALGORITHMS[key.key_spec])
    if context:
        raise ValidationException("EncryptionContext is not supported with asymmetric KMS keys.")
    require_usable(key)
    return chosen


async def rsa_encrypt(
    ctx: CallContext,
    key: KeyRecord,
    plaintext: bytes,
    algorithm: str | None,
    context: Mapping[str, str] | None,
    op: str = "Encrypt",
) -> tuple[bytes, str]:
    """RSAES-OAEP ciphertext of ``plaintext`` under an RSA ENCRYPT_DECRYPT key; -> (ciphertext, algorithm).

    ValidationException for a missing or unsupported algorithm, an encryption
    context, or a plaintext too long for the key; InvalidKeyUsageException,
    DisabledException, KMSInvalidStateException.
    """
    chosen = _rsa_checks(key, algorithm, context, op)
    try:
        return kms_keys.rsa_encrypt(await _material(ctx, key), chosen, plaintext), chosen
    except CryptoError as e:
        raise ValidationException(
            f"Plaintext is too long for {key.key_spec} with encryption algorithm {chosen}."
        ) from e


async def rsa_decrypt(
    ctx: CallContext,
    key: KeyRecord,
    ciphertext: bytes,
    algorithm: str | None,
    context: Mapping[str, str] | None,
    op: str = "Decrypt",
) -> tuple[bytes, str]:
    """Plaintext of an RSAES-OAEP ciphertext; InvalidCiphertextException when it does not decrypt."""
    chosen = _rsa_checks(key, algorithm, context, op)
    try:
        return kms_keys.rsa_decrypt(await _material(ctx, key), chosen, ciphertext), chosen
    except CryptoError as e:
        raise InvalidCiphertextException() from e


# -- Sign / Verify / GetPublicKey ---------------------------------------------------


def _signing(key: KeyRecord, req: dict[str, Any], op: str) -> tuple[str, bool]:
    require_usage(key, SIGN_VERIFY, op)
    algorithm = _choice(
        req.get("SigningAlgorithm"), "signingAlgorithm", kms_keys.SIGNING_ALGORITHMS[key.key_spec]
    )
    message_type = req.get("MessageType") or "RAW"
    if message_type == "EXTERNAL_MU":
        raise UnsupportedOperationException(
            "MessageType EXTERNAL_MU is for ML-DSA keys, which fleetward does not provide."
        )
    require_usable(key)
    return algorithm, message_type == "DIGEST"


def _digest_length(algorithm: str) -> ValidationException:
    return ValidationException(f"Digest is invalid length for algorithm {algorithm}.")


@operation("kms", "Sign", read_only=True, authorize=key_scoped("kms:Sign"))
async def sign(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Sign a message (RAW) or its digest (DIGEST) with a SIGN_VERIFY key.

    ECDSA signatures are DER-encoded. ValidationException for an algorithm the
    key does not support or a digest of the wrong length; InvalidKeyUsageException,
    DisabledException, KMSInvalidStateException.
    """
    key = await resolve(ctx, req["KeyId"])
    algorithm, is_digest = _signing(key, req, "Sign")
    material = await _material(ctx, key)
    _dry_run(req)
    try:
        signature = kms_keys.sign(material, algorithm, bytes(req["Message"]), is_digest=is_digest)
    except CryptoError as e:
        raise _digest_length(algorithm) from e
    return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}


@operation("kms", "Verify", read_only=True, authorize=key_scoped("kms:Verify"))
async def verify(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Verify a signature; an invalid one is ``KMSInvalidSignatureException``, as in AWS."""
    key = await resolve(ctx, req["KeyId"])
    algorithm, is_digest = _signing(key, req, "Verify")
    material = await _material(ctx, key)
    try:
        valid = kms_keys.verify(
            material, algorithm, bytes(req["Message"]), bytes(req["Signature"]), is_digest=is_digest
        )
    except CryptoError as e:
        raise _digest_length(algorithm) from e
    _dry_run(req)
    if not valid:
        raise KMSInvalidSignatureException()
    return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}


@operation("kms", "GetPublicKey", read_only=True, authorize=key_scoped("kms:GetPublicKey"))
async def get_public_key(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The public key (SubjectPublicKeyInfo DER) of an RSA or ECC key.

    UnsupportedOperationException for symmetric and HMAC keys;
    DisabledException / KMSInvalidStateException unless enabled.
    """
    key = await resolve(ctx, req["KeyId"])
    if key.symmetric or key.key_usage == GENERATE_VERIFY_MAC:
        raise UnsupportedOperationException(f"{key.arn} key spec {key.key_spec} has no public key.")
    require_usable(key)
    public = kms_keys.public_key_der(await _material(ctx, key))
    return {
        "KeyId": key.arn,
        "PublicKey": public,
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "KeyUsage": key.key_usage,
        **key.algorithms(),
    }


# -- GenerateMac / VerifyMac ------------------------------------------------------------


def _mac_algorithm(key: KeyRecord, req: dict[str, Any], op: str) -> str:
    if key.key_usage != GENERATE_VERIFY_MAC:
        raise InvalidKeyUsageException(
            f"{key.arn} key usage is {key.key_usage} ({key.key_spec}), which is not valid for {op}."
        )
    algorithm = _choice(req.get("MacAlgorithm"), "macAlgorithm", [kms_keys.MAC_ALGORITHMS[key.key_spec]])
    require_usable(key)
    return algorithm


@operation("kms", "GenerateMac", read_only=True, authorize=key_scoped("kms:GenerateMac"))
async def generate_mac(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The HMAC of a message under an HMAC key (its own algorithm only)."""
    key = await resolve(ctx, req["KeyId"])
    algorithm = _mac_algorithm(key, req, "GenerateMac")
    tag = kms_keys.mac(await _material(ctx, key), algorithm, bytes(req["Message"]))
    _dry_run(req)
    return {"Mac": tag, "MacAlgorithm": algorithm, "KeyId": key.arn}


@operation("kms", "VerifyMac", read_only=True, authorize=key_scoped("kms:VerifyMac"))
async def verify_mac(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Check an HMAC in constant time; a wrong one is ``KMSInvalidMacException``, as in AWS."""
    key = await resolve(ctx, req["KeyId"])
    algorithm = _mac_algorithm(key, req, "VerifyMac")
    valid = kms_keys.verify_mac(
        await _material(ctx, key), algorithm, bytes(req["Message"]), bytes(req["Mac"])
    )
    _dry_run(req)
    if not valid:
        raise KMSInvalidMacException()
    return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": algorithm}
