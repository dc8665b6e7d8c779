"""AES-256-GCM envelopes: ``nonce(12) || ciphertext || tag(16)``.

Every call uses a fresh random 96-bit nonce. With random nonces a single key
should seal fewer than 2**32 messages (NIST SP 800-38D); the root keys and
KMS backing keys are rotated long before that.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fleetward.crypto.errors import CryptoError, IntegrityError

__all__ = ["KEY_SIZE", "NONCE_SIZE", "OVERHEAD", "TAG_SIZE", "open_sealed", "seal"]

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_SIZE:
        raise CryptoError(f"AES-256-GCM needs a {KEY_SIZE}-byte key, got {len(key)} bytes")
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext``, binding ``aad``.

    Returns ``nonce || ciphertext || tag`` (``len(plaintext) + OVERHEAD`` bytes).
    Raises ``CryptoError`` if ``key`` is not 32 bytes.
    """
    nonce = os.urandom(NONCE_SIZE)
    return nonce + _cipher(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a blob made by :func:`seal` with the same ``key`` and ``aad``.

    Raises ``IntegrityError`` if the blob is too short, was changed in any
    byte, or the key or ``aad`` differ; ``CryptoError`` if ``key`` is not 32 bytes.
    """
    cipher = _cipher(key)
    if len(blob) < OVERHEAD:
        raise IntegrityError("sealed blob is too short")
    try:
        return cipher.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
    except InvalidTag:
        raise IntegrityError("authentication failed") from None
