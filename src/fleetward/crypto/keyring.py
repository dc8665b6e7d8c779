"""The root of trust in memory: root keys by version.

A wrapped blob is ``b"\\x01" || root_version (u32 BE) || aead.seal(...)``. The
5-byte header is authenticated together with the caller's associated data
(``header || aad``; the header has a fixed length, so the split is
unambiguous), so neither the version nor the context can be changed unnoticed.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from fleetward.crypto import aead
from fleetward.crypto.errors import CryptoError, IntegrityError

__all__ = ["WRAP_FORMAT", "Keyring"]

WRAP_FORMAT = 0x01
_HEADER = struct.Struct(">BI")
_MAX_VERSION = 0xFFFFFFFF


class Keyring:
    """Root keys by version; the newest wraps, any known version unwraps.

    Immutable: rotation (:meth:`with_new_root`) returns a new keyring. The key
    bytes are never shown by ``repr``.
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, root_keys: Mapping[int, bytes]) -> None:
        """Build a keyring from ``{version: 32-byte key}``.

        Raises ``CryptoError`` if it is empty, a version is outside
        1..2**32-1 or a key is not 32 bytes.
        """
        if not root_keys:
            raise CryptoError("a keyring needs at least one root key")
        keys: dict[int, bytes] = {}
        for version, key in root_keys.items():
            if isinstance(version, bool) or not 1 <= version <= _MAX_VERSION:
                raise CryptoError(f"root key version out of range: {version!r}")
            if len(key) != aead.KEY_SIZE:
                raise CryptoError(f"root key version {version} is not {aead.KEY_SIZE} bytes")
            keys[version] = bytes(key)
        self._keys = keys
        self._current = max(keys)

    def __repr__(self) -> str:
        return f"Keyring(versions={sorted(self._keys)})"

    @property
    def current_version(self) -> int:
        """The newest root version: the one :meth:`wrap` uses."""
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        """All known root versions, ascending."""
        return tuple(sorted(self._keys))

    def export_root_keys(self) -> dict[int, bytes]:
        """A copy of ``{version: key}``, for sealing to disk only (``seal.store_keyring``)."""
        return dict(self._keys)

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` under the current root key, binding ``aad``."""
        header = _HEADER.pack(WRAP_FORMAT, self._current)
        return header + aead.seal(self._keys[self._current], plaintext, header + aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt a blob made by :meth:`wrap` (under any known root version).

        Raises ``IntegrityError`` if any byte was changed, ``aad`` differs, or
        the blob names a root version this keyring does not hold (a changed
        version byte cannot be told apart from a missing root key).
        """
        version = self._version_of(blob)
        key = self._keys.get(version)
        if key is None:
            raise IntegrityError(f"wrapped blob names unknown root key version {version}")
        return aead.open_sealed(key, blob[_HEADER.size :], blob[: _HEADER.size] + aad)

    def needs_rewrap(self, blob: bytes) -> bool:
        """True if ``blob`` was wrapped under an older root version than the current one.

        Reads the header only; raises ``IntegrityError`` if it is malformed.
        """
        return self._version_of(blob) < self._current

    def rewrap(self, blob: bytes, aad: bytes) -> bytes:
        """Return ``blob`` re-wrapped under the current root version.

        The blob is authenticated first (``IntegrityError`` as :meth:`unwrap`);
        a blob already under the current version is returned unchanged.
        """
        plaintext = self.unwrap(blob, aad)
        if self._version_of(blob) == self._current:
            return blob
        return self.wrap(plaintext, aad)

    def with_new_root(self) -> Keyring:
        """A new keyring with every existing version plus a fresh random root key.

        The new version is ``current_version + 1`` and becomes current.
        Raises ``CryptoError`` when the version space is exhausted.
        """
        if self._current >= _MAX_VERSION:
            raise CryptoError("root key versions exhausted")
        keys = dict(self._keys)
        keys[self._current + 1] = os.urandom(aead.KEY_SIZE)
        return Keyring(keys)

    @staticmethod
    def _version_of(blob: bytes) -> int:
        if len(blob) < _HEADER.size + aead.OVERHEAD:
            raise IntegrityError("wrapped blob is too short")
        fmt, version = _HEADER.unpack_from(blob)
        if fmt != WRAP_FORMAT:
            raise IntegrityError(f"unknown wrapped blob format {fmt}")
        return int(version)
