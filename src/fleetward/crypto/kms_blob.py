"""KMS ciphertext blobs and the encoding of encryption contexts.

Blob layout (all integers big-endian)::

    offset  size  field
    0       1     format byte 0xF1
    1       16    KMS key id, raw UUID bytes
    17      4     backing-key version (u32)
    21      12    nonce
    33      n     ciphertext
    33+n    16    GCM tag

The associated data is ``header (21 bytes) || encode_context(context)``: the
header is fixed-length, so the split is unambiguous, and every header byte and
the whole context are authenticated.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from fleetward.crypto import aead
from fleetward.crypto.errors import CryptoError, IntegrityError

__all__ = [
    "BLOB_FORMAT",
    "HEADER_SIZE",
    "MIN_BLOB_SIZE",
    "BlobHeader",
    "backing_key_aad",
    "decrypt_blob",
    "encode_context",
    "encrypt_blob",
    "parse_header",
]

BLOB_FORMAT = 0xF1
_HEADER = struct.Struct(">B16sI")
HEADER_SIZE = _HEADER.size
MIN_BLOB_SIZE = HEADER_SIZE + aead.OVERHEAD
_U32 = struct.Struct(">I")
_MAX_U32 = 0xFFFFFFFF
_BACKING_KEY_AAD_LABEL = b"fleetward-backing-key-v1\x00"


@dataclass(frozen=True, slots=True)
class BlobHeader:
    """The authenticated, unencrypted header of a KMS ciphertext blob."""

    key_id: str
    """The KMS key id: a canonical lower-case UUID string."""
    key_version: int
    """The backing-key version that encrypted the blob (0..2**32-1)."""

    def to_bytes(self) -> bytes:
        """The 21 header bytes. Raises ``CryptoError`` for a non-canonical key id or bad version."""
        try:
            key_uuid = uuid.UUID(self.key_id)
        except (ValueError, TypeError):
            raise CryptoError("KMS key id is not a UUID") from None
        if str(key_uuid) != self.key_id:
            raise CryptoError("KMS key id is not a canonical lower-case UUID")
        if isinstance(self.key_version, bool) or not 0 <= self.key_version <= _MAX_U32:
            raise CryptoError("backing-key version out of range")
        return _HEADER.pack(BLOB_FORMAT, key_uuid.bytes, self.key_version)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise CryptoError("encryption context is not valid Unicode") from None


def encode_context(context: Mapping[str, str]) -> bytes:
    """Canonical bytes of an encryption context.

    Pairs sorted by the UTF-8 bytes of the key, each key and value prefixed by
    its byte length (u32 BE). The encoding is injective: two different
    contexts never encode alike. ``{}`` encodes to ``b""``. Raises
    ``CryptoError`` for strings that are not encodable as UTF-8 (lone surrogates).
    """
    pairs = sorted((_utf8(k), _utf8(v)) for k, v in context.items())
    parts: list[bytes] = []
    for key, value in pairs:
        parts += (_U32.pack(len(key)), key, _U32.pack(len(value)), value)
    return b"".join(parts)


def encrypt_blob(
    header: BlobHeader, backing_key: bytes, plaintext: bytes, context: Mapping[str, str]
) -> bytes:
    """Encrypt ``plaintext`` with a 32-byte backing key into a KMS ciphertext blob.

    Raises ``CryptoError`` for a bad header (see :meth:`BlobHeader.to_bytes`),
    key size or context.
    """
    head = header.to_bytes()
    return head + aead.seal(backing_key, plaintext, head + encode_context(context))


def parse_header(blob: bytes) -> BlobHeader:
    """Read the header of a KMS ciphertext blob, without authenticating it.

    Use it to find the key and backing-key version, then :func:`decrypt_blob`.
    Raises ``CryptoError`` (→ ``InvalidCiphertextException``) when the blob is
    too short or has the wrong format byte.
    """
    if len(blob) < MIN_BLOB_SIZE:
        raise CryptoError("ciphertext blob is too short")
    fmt, key_bytes, version = _HEADER.unpack_from(blob)
    if fmt != BLOB_FORMAT:
        raise CryptoError("ciphertext blob has an unknown format")
    return BlobHeader(key_id=str(uuid.UUID(bytes=key_bytes)), key_version=int(version))


def decrypt_blob(blob: bytes, backing_key: bytes, context: Mapping[str, str]) -> bytes:
    """Authenticate and decrypt a blob made by :func:`encrypt_blob`.

    Raises ``IntegrityError`` if the blob is malformed, any byte was changed,
    the backing key is wrong or ``context`` differs from the one used to encrypt.
    """
    if len(blob) < MIN_BLOB_SIZE or blob[0] != BLOB_FORMAT:
        raise IntegrityError("not a ciphertext blob (too short or unknown format)")
    return aead.open_sealed(backing_key, blob[HEADER_SIZE:], blob[:HEADER_SIZE] + encode_context(context))


def backing_key_aad(key_arn: str, version: int) -> bytes:
    """Associated data binding a wrapped backing key to its key ARN and version.

    ``label || u32 len(arn) || arn || u32 version``. Raises ``CryptoError`` for
    a version outside 0..2**32-1.
    """
    if isinstance(version, bool) or not 0 <= version <= _MAX_U32:
        raise CryptoError("backing-key version out of range")
    arn = _utf8(key_arn)
    return _BACKING_KEY_AAD_LABEL + _U32.pack(len(arn)) + arn + _U32.pack(version)
