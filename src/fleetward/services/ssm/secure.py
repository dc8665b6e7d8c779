"""SecureString values through KMS, as the caller.

Standard tier: ``kms:Encrypt`` of the value; the stored (and, without
``WithDecryption``, returned base64) value is the KMS ciphertext blob.
Advanced tier: envelope encryption, as AWS does for values above KMS's
4 KB limit: ``kms:GenerateDataKey`` gives a data key; the value is sealed
with AES-256-GCM under it (the encryption context as associated data) and
stored as ``MAGIC || len(data key blob) || data key blob || sealed value``.
Reads call ``kms:Decrypt`` (of the value or of the data key) as the caller.

Encryption context: ``{"PARAMETER_ARN": <the parameter's ARN>}``; KMS
authorizes the caller with ``kms:ViaService = ssm.<region>.amazonaws.com``.
KMS failures surface as SSM does: ``AccessDeniedException`` stays
``AccessDeniedException``, anything else about the key is ``InvalidKeyId``;
both carry KMS's message followed by ``(Service: AWSKMS; Status Code: ...;
Error Code: ...; Request ID: ...; Proxy: null)``.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from typing import Any, TypeVar

from fleetward.crypto import aead
from fleetward.crypto.errors import CryptoError
from fleetward.protocol.errors import AccessDeniedException, AWSError, InternalFailure
from fleetward.services.context import CallContext
from fleetward.services.ssm.errors import InvalidKeyId
from fleetward.services.ssm.names import param_arn

__all__ = ["DEFAULT_KEY", "ciphertext_text", "open_value", "seal_value"]

DEFAULT_KEY = "alias/aws/ssm"
_MAGIC = b"FWSSMENV1"
T = TypeVar("T")


def _context(ctx: CallContext, name: str) -> dict[str, str]:
    return {"PARAMETER_ARN": param_arn(ctx.region, ctx.account, name)}


def _via(ctx: CallContext) -> str:
    return f"ssm.{ctx.region}.amazonaws.com"


def _kms(ctx: CallContext) -> Any:
    kms = ctx.env.extras.get("kms")
    if kms is None:
        raise InternalFailure("KMS is not available")
    return kms


async def _call(ctx: CallContext, aw: Awaitable[T]) -> T:
    """Await a KMS call, translating its errors the way SSM surfaces them."""
    try:
        return await aw
    except AWSError as e:
        # SSM reports KMS's error as its SDK client saw it: KMS's message and status line.
        message = (
            f"{e.message} (Service: AWSKMS; Status Code: {e.status}; Error Code: {e.code}; "
            f"Request ID: {ctx.request_id}; Proxy: null)"
        )
        if e.code == "AccessDeniedException":
            raise AccessDeniedException(message) from e
        raise InvalidKeyId(message) from e


async def seal_value(ctx: CallContext, key_id: str, name: str, value: str, tier: str) -> tuple[bytes, str]:
    """Encrypt ``value`` for parameter ``name``; returns (stored blob, key ARN)."""
    kms = _kms(ctx)
    context = _context(ctx, name)
    if tier != "Advanced":
        blob, key_arn = await _call(
            ctx, kms.encrypt_as(ctx, key_id, value.encode(), context, via_service=_via(ctx))
        )
        return bytes(blob), str(key_arn)
    data_key, key_blob, key_arn = await _call(
        ctx, kms.generate_data_key_as(ctx, key_id, context, via_service=_via(ctx))
    )
    sealed = aead.seal(bytes(data_key), value.encode(), context["PARAMETER_ARN"].encode())
    return _MAGIC + len(key_blob).to_bytes(2, "big") + bytes(key_blob) + sealed, str(key_arn)


async def open_value(ctx: CallContext, name: str, secret: bytes) -> str:
    """Decrypt a stored SecureString value as the caller (``kms:Decrypt``)."""
    kms = _kms(ctx)
    context = _context(ctx, name)
    if not secret.startswith(_MAGIC):
        plain, _arn = await _call(ctx, kms.decrypt_as(ctx, secret, context, via_service=_via(ctx)))
        return bytes(plain).decode()
    n = int.from_bytes(secret[len(_MAGIC) : len(_MAGIC) + 2], "big")
    start = len(_MAGIC) + 2
    key_blob, sealed = secret[start : start + n], secret[start + n :]
    data_key, _arn = await _call(ctx, kms.decrypt_as(ctx, key_blob, context, via_service=_via(ctx)))
    try:
        return aead.open_sealed(bytes(data_key), sealed, context["PARAMETER_ARN"].encode()).decode()
    except CryptoError as e:
        raise InvalidKeyId("The ciphertext of this parameter could not be decrypted.") from e


def ciphertext_text(secret: bytes) -> str:
    """What AWS returns for a SecureString read without decryption: the blob, base64."""
    return base64.b64encode(secret).decode()
