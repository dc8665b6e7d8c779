"""The sealed root of trust on disk.

``<data_dir>/root.json`` (0600)::

    {"format": 1,
     "mode": "keyfile" | "passphrase",
     "kdf": {"name": "scrypt", "salt": b64, "n": 65536, "r": 8, "p": 1},   # passphrase mode only
     "roots": {"1": b64(aead.seal(unseal_key, root_key, aad)), ...}}

with ``aad = b"fleetward-root-v1" || version (u32 BE)``, so a sealed root
cannot be moved to another version slot. The unseal key is, in ``keyfile``
mode, 32 random bytes in ``<data_dir>/unseal.key`` (0600, owned by the
current user), and in ``passphrase`` mode ``scrypt(NFC(passphrase), salt)``.
No plaintext root key is ever written.

Writes are atomic (temp file, fsync, rename, fsync of the directory) and
serialized by an exclusive ``flock`` on ``<data_dir>/.root.lock``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hmac
import json
import os
import stat
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from fleetward.crypto import aead
from fleetward.crypto.errors import CryptoError, IntegrityError, SealedError
from fleetward.crypto.keyring import Keyring

__all__ = [
    "DEFAULT_SCRYPT",
    "KEY_FILE",
    "ROOT_FILE",
    "ScryptParams",
    "SealMode",
    "init_root",
    "is_initialized",
    "seal_mode",
    "store_keyring",
    "unseal",
]

ROOT_FILE = "root.json"
KEY_FILE = "unseal.key"
_LOCK_FILE = ".root.lock"
_FORMAT = 1
_ROOT_AAD = b"fleetward-root-v1"
_SALT_SIZE = 16
_MAX_SCRYPT_MEMORY = 1 << 30


class SealMode(StrEnum):
    """How the unseal key is obtained."""

    KEYFILE = "keyfile"
    PASSPHRASE = "passphrase"  # noqa: S105 (a mode name, not a secret)


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost parameters. The default takes ~200 ms and 64 MiB on a 2-core machine."""

    n: int = 1 << 16
    r: int = 8
    p: int = 1

    def check(self) -> None:
        """Raise ``CryptoError`` unless n is a power of two >= 2, r and p are
        small positive integers and the memory cost (128·n·r) is at most 1 GiB."""
        if self.n < 2 or self.n & (self.n - 1):
            raise CryptoError("scrypt n must be a power of two >= 2")
        if not (1 <= self.r <= 64 and 1 <= self.p <= 16):
            raise CryptoError("scrypt r or p out of range")
        if 128 * self.n * self.r > _MAX_SCRYPT_MEMORY:
            raise CryptoError("scrypt parameters need too much memory")


DEFAULT_SCRYPT = ScryptParams()


@dataclass(frozen=True, slots=True)
class _Kdf:
    params: ScryptParams
    salt: bytes


@dataclass(frozen=True, slots=True)
class _RootFile:
    mode: SealMode
    kdf: _Kdf | None
    roots: dict[int, bytes]  # version -> sealed root key


def is_initialized(data_dir: Path) -> bool:
    """True if ``data_dir`` holds a sealed root (``root.json``)."""
    return (data_dir / ROOT_FILE).is_file()


def seal_mode(data_dir: Path) -> SealMode:
    """The mode ``root.json`` was sealed in.

    Raises ``SealedError`` if not initialized, ``CryptoError`` if the file is malformed.
    """
    return _read_root_file(data_dir).mode


def init_root(
    data_dir: Path, *, passphrase: str | None = None, kdf_params: ScryptParams | None = None
) -> Keyring:
    """Create a fresh root of trust (root version 1) and return it unsealed.

    Without ``passphrase``: keyfile mode, writes ``unseal.key`` then
    ``root.json``. With it: passphrase mode (scrypt with ``kdf_params``,
    default :data:`DEFAULT_SCRYPT`), writes ``root.json`` only. Creates
    ``data_dir`` (0700) if missing. Raises ``CryptoError`` if ``root.json``
    already exists or the passphrase is empty.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(data_dir):
        if (data_dir / ROOT_FILE).exists():
            raise CryptoError(f"{data_dir / ROOT_FILE} already exists; refusing to overwrite it")
        kdf: _Kdf | None = None
        if passphrase is None:
            mode = SealMode.KEYFILE
            unseal_key = os.urandom(aead.KEY_SIZE)
            _write_atomic(data_dir / KEY_FILE, unseal_key, overwrite=True)
        else:
            mode = SealMode.PASSPHRASE
            kdf = _Kdf(kdf_params or DEFAULT_SCRYPT, os.urandom(_SALT_SIZE))
            unseal_key = _derive(passphrase, kdf)
        keyring = Keyring({1: os.urandom(aead.KEY_SIZE)})
        root_file = _RootFile(mode, kdf, _seal_roots(unseal_key, keyring))
        _write_atomic(data_dir / ROOT_FILE, _render(root_file), overwrite=False)
    return keyring


def unseal(data_dir: Path, *, passphrase: str | None = None) -> Keyring:
    """Open ``root.json`` and return the keyring with every root version.

    Raises ``SealedError`` when not initialized; in keyfile mode when
    ``unseal.key`` is missing, not a regular file, not owned by this user,
    accessible to group or others, or does not open the roots; in passphrase
    mode when the passphrase is missing or wrong. ``CryptoError`` for a
    malformed ``root.json``.
    """
    root_file = _read_root_file(data_dir)
    unseal_key = _unseal_key(data_dir, root_file, passphrase)
    return Keyring(_open_roots(root_file, unseal_key))


def store_keyring(data_dir: Path, keyring: Keyring, *, passphrase: str | None = None) -> None:
    """Persist ``keyring`` (e.g. after :meth:`Keyring.with_new_root`) to ``root.json``.

    Re-uses the existing unseal key (key file, or passphrase with the same
    salt and scrypt parameters) and rewrites the file atomically. The stored
    roots must all be present, with the same bytes, in ``keyring``, so no root
    version is ever dropped or silently replaced: ``CryptoError`` otherwise.
    Raises ``SealedError`` as :func:`unseal` if the unseal key cannot be had.
    """
    with _locked(data_dir):
        root_file = _read_root_file(data_dir)
        unseal_key = _unseal_key(data_dir, root_file, passphrase)
        stored = _open_roots(root_file, unseal_key)
        new_keys = keyring.export_root_keys()
        for version, key in stored.items():
            other = new_keys.get(version)
            if other is None or not hmac.compare_digest(other, key):
                raise CryptoError(f"keyring does not hold stored root version {version}")
        updated = _RootFile(root_file.mode, root_file.kdf, _seal_roots(unseal_key, keyring))
        _write_atomic(data_dir / ROOT_FILE, _render(updated), overwrite=True)


# --- key material --------------------------------------------------------------------


def _root_aad(version: int) -> bytes:
    return _ROOT_AAD + struct.pack(">I", version)


def _seal_roots(unseal_key: bytes, keyring: Keyring) -> dict[int, bytes]:
    return {
        version: aead.seal(unseal_key, key, _root_aad(version))
        for version, key in keyring.export_root_keys().items()
    }


def _open_roots(root_file: _RootFile, unseal_key: bytes) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    for version, sealed in root_file.roots.items():
        try:
            keys[version] = aead.open_sealed(unseal_key, sealed, _root_aad(version))
        except IntegrityError:
            if root_file.mode is SealMode.PASSPHRASE:
                raise SealedError("wrong passphrase") from None
            raise SealedError(f"{KEY_FILE} does not open {ROOT_FILE}") from None
    return keys


def _derive(passphrase: str, kdf: _Kdf) -> bytes:
    if not passphrase:
        raise CryptoError("the passphrase must not be empty")
    kdf.params.check()
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    scrypt = Scrypt(salt=kdf.salt, length=aead.KEY_SIZE, n=kdf.params.n, r=kdf.params.r, p=kdf.params.p)
    return scrypt.derive(secret)


def _unseal_key(data_dir: Path, root_file: _RootFile, passphrase: str | None) -> bytes:
    if root_file.mode is SealMode.KEYFILE:
        if passphrase is not None:
            raise SealedError("the root is sealed with a key file; no passphrase is used")
        return _read_key_file(data_dir / KEY_FILE)
    if root_file.kdf is None:
        raise CryptoError(f"{ROOT_FILE}: passphrase mode without kdf")
    if passphrase is None:
        raise SealedError("the root is sealed with a passphrase; a passphrase is required")
    if not passphrase:
        raise SealedError("wrong passphrase")
    return _derive(passphrase, root_file.kdf)


# --- files ---------------------------------------------------------------------------


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SealedError(f"{path} is missing") from None
    except OSError as exc:
        raise SealedError(f"cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SealedError(f"{path} is not a regular file")
        if info.st_mode & 0o077:
            raise SealedError(
                f"{path} is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it"
            )
        if info.st_uid != os.geteuid():
            raise SealedError(f"{path} is not owned by the current user")
        key = handle.read(aead.KEY_SIZE + 1)
    if len(key) != aead.KEY_SIZE:
        raise SealedError(f"{path} does not hold a {aead.KEY_SIZE}-byte key")
    return key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise CryptoError(f"{ROOT_FILE}: {what} is not a string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CryptoError(f"{ROOT_FILE}: {what} is not base64") from None


def _render(root_file: _RootFile) -> bytes:
    doc: dict[str, Any] = {"format": _FORMAT, "mode": str(root_file.mode)}
    if root_file.kdf is not None:
        params = root_file.kdf.params
        doc["kdf"] = {
            "name": "scrypt",
            "salt": _b64(root_file.kdf.salt),
            "n": params.n,
            "r": params.r,
            "p": params.p,
        }
    doc["roots"] = {str(v): _b64(sealed) for v, sealed in sorted(root_file.roots.items())}
    return (json.dumps(doc, indent=2) + "\n").encode("ascii")


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CryptoError(f"{ROOT_FILE}: {what} is not an integer")
    return value


def _read_root_file(data_dir: Path) -> _RootFile:
    path = data_dir / ROOT_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SealedError(f"{path} does not exist; the root of trust is not initialized") from None
    try:
        doc = json.loads(raw)
    except ValueError:
        raise CryptoError(f"{path} is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise CryptoError(f"{path}: unsupported format")
    try:
        mode = SealMode(str(doc.get("mode")))
    except ValueError:
        raise CryptoError(f"{path}: unknown mode") from None
    kdf: _Kdf | None = None
    if mode is SealMode.PASSPHRASE:
        spec = doc.get("kdf")
        if not isinstance(spec, dict) or spec.get("name") != "scrypt":
            raise CryptoError(f"{path}: passphrase mode needs an scrypt kdf")
        params = ScryptParams(_int(spec.get("n"), "n"), _int(spec.get("r"), "r"), _int(spec.get("p"), "p"))
        params.check()
        kdf = _Kdf(params, _unb64(spec.get("salt"), "salt"))
    roots_doc = doc.get("roots")
    if not isinstance(roots_doc, dict) or not roots_doc:
        raise CryptoError(f"{path}: no roots")
    roots: dict[int, bytes] = {}
    for version_text, sealed in roots_doc.items():
        if not (isinstance(version_text, str) and version_text.isdigit() and version_text.isascii()):
            raise CryptoError(f"{path}: bad root version {version_text!r}")
        roots[int(version_text)] = _unb64(sealed, f"root {version_text}")
    return _RootFile(mode, kdf, roots)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    fd = os.open(data_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomic(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` with mode 0600, all or nothing, durably.

    ``overwrite=False`` publishes with ``link`` so an existing file is never
    replaced (``CryptoError``).
    """
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise CryptoError(f"{path} already exists; refusing to overwrite it") from None
            finally:
                tmp.unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
