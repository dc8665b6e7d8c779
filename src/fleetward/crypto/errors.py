"""Errors raised by the crypto layer.

The tree::

    CryptoError            base: malformed input, unsupported format, misuse
    +-- IntegrityError     authentication failed: tampered bytes, wrong key,
    |                      wrong associated data / encryption context
    +-- SealedError        the root of trust cannot be unsealed: wrong
                           passphrase, unsafe or missing key file, not initialized

Services translate these at their boundary (e.g. KMS maps ``CryptoError`` and
``IntegrityError`` to ``InvalidCiphertextException``) with ``raise ... from``.
Messages never contain key material or plaintext.
"""

from __future__ import annotations

__all__ = ["CryptoError", "IntegrityError", "SealedError"]


class CryptoError(Exception):
    """Base class of every error raised by :mod:`fleetward.crypto`."""


class IntegrityError(CryptoError):
    """Authentication failed: the data was changed, or the key or context is wrong."""


class SealedError(CryptoError):
    """The root of trust is sealed and cannot be opened with what was given."""
