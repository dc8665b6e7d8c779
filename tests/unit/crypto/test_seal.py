import base64
import json
import os
import stat
from pathlib import Path

import pytest

from fleetward.crypto.errors import CryptoError, SealedError
from fleetward.crypto.keyring import Keyring
from fleetward.crypto.seal import (
    DEFAULT_SCRYPT,
    KEY_FILE,
    ROOT_FILE,
    ScryptParams,
    SealMode,
    init_root,
    is_initialized,
    seal_mode,
    store_keyring,
    unseal,
)

CHEAP = ScryptParams(n=2**10, r=8, p=1)
AAD = b"aad"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_no_plaintext_keys(data_dir: Path, ring: Keyring) -> None:
    blobs = [p.read_bytes() for p in data_dir.iterdir() if p.is_file()]
    assert blobs
    for key in ring.export_root_keys().values():
        forms = (
            key,
            key.hex().encode(),
            key.hex().upper().encode(),
            base64.b64encode(key),
            base64.urlsafe_b64encode(key),
            base64.b64encode(key).rstrip(b"="),
        )
        for blob in blobs:
            for form in forms:
                assert form not in blob


def test_keyfile_mode_round_trip(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert not is_initialized(data_dir)
    ring = init_root(data_dir)
    assert is_initialized(data_dir)
    assert seal_mode(data_dir) is SealMode.KEYFILE
    assert ring.current_version == 1
    blob = ring.wrap(b"backing key", AAD)
    again = unseal(data_dir)
    assert again.export_root_keys() == ring.export_root_keys()
    assert again.unwrap(blob, AAD) == b"backing key"
    assert len((data_dir / KEY_FILE).read_bytes()) == 32
    assert_no_plaintext_keys(data_dir, ring)


def test_created_files_are_private(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        init_root(tmp_path / "k")
        init_root(tmp_path / "p", passphrase="pw", kdf_params=CHEAP)
    finally:
        os.umask(old_umask)
    assert mode_of(tmp_path / "k") == 0o700
    for path in (tmp_path / "k").iterdir():
        assert mode_of(path) == 0o600, path
    assert {p.name for p in (tmp_path / "p").iterdir()} == {ROOT_FILE, ".root.lock"}
    for path in (tmp_path / "p").iterdir():
        assert mode_of(path) == 0o600, path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601])
def test_refuses_unseal_key_readable_by_others(tmp_path: Path, mode: int) -> None:
    init_root(tmp_path)
    (tmp_path / KEY_FILE).chmod(mode)
    with pytest.raises(SealedError, match="group or others"):
        unseal(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o400)
    unseal(tmp_path)


def test_refuses_missing_symlinked_or_wrong_key_file(tmp_path: Path) -> None:
    init_root(tmp_path)
    key_file = tmp_path / KEY_FILE
    key = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(SealedError, match="missing"):
        unseal(tmp_path)
    elsewhere = tmp_path / "elsewhere.key"
    elsewhere.write_bytes(key)
    elsewhere.chmod(0o600)
    key_file.symlink_to(elsewhere)
    with pytest.raises(SealedError):
        unseal(tmp_path)
    key_file.unlink()
    for content in (os.urandom(32), key[:31], key + b"\n"):
        key_file.write_bytes(content)
        key_file.chmod(0o600)
        with pytest.raises(SealedError):
            unseal(tmp_path)
        key_file.unlink()


def test_passphrase_mode_round_trip(tmp_path: Path) -> None:
    ring = init_root(tmp_path, passphrase="correct horse", kdf_params=CHEAP)
    assert seal_mode(tmp_path) is SealMode.PASSPHRASE
    assert not (tmp_path / KEY_FILE).exists()
    doc = json.loads((tmp_path / ROOT_FILE).read_text())
    assert doc["format"] == 1
    assert doc["mode"] == "passphrase"
    assert doc["kdf"]["name"] == "scrypt"
    assert (doc["kdf"]["n"], doc["kdf"]["r"], doc["kdf"]["p"]) == (2**10, 8, 1)
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 16
    assert set(doc["roots"]) == {"1"}
    again = unseal(tmp_path, passphrase="correct horse")
    assert again.export_root_keys() == ring.export_root_keys()
    assert_no_plaintext_keys(tmp_path, ring)


def test_passphrase_is_unicode_normalized(tmp_path: Path) -> None:
    init_root(tmp_path, passphrase="caf\u00e9", kdf_params=CHEAP)
    unseal(tmp_path, passphrase="cafe\u0301")


def test_wrong_or_missing_passphrase(tmp_path: Path) -> None:
    init_root(tmp_path, passphrase="correct horse", kdf_params=CHEAP)
    for wrong in ("correct horsE", "correct horse ", ""):
        with pytest.raises(SealedError, match="wrong passphrase"):
            unseal(tmp_path, passphrase=wrong)
    with pytest.raises(SealedError, match="required"):
        unseal(tmp_path)


def test_passphrase_given_in_keyfile_mode(tmp_path: Path) -> None:
    init_root(tmp_path)
    with pytest.raises(SealedError):
        unseal(tmp_path, passphrase="anything")


def test_empty_passphrase_refused_at_init(tmp_path: Path) -> None:
    with pytest.raises(CryptoError):
        init_root(tmp_path, passphrase="", kdf_params=CHEAP)
    assert not is_initialized(tmp_path)


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    init_root(tmp_path)
    before = (tmp_path / ROOT_FILE).read_bytes()
    key_before = (tmp_path / KEY_FILE).read_bytes()
    with pytest.raises(CryptoError, match="already exists"):
        init_root(tmp_path)
    with pytest.raises(CryptoError, match="already exists"):
        init_root(tmp_path, passphrase="pw", kdf_params=CHEAP)
    assert (tmp_path / ROOT_FILE).read_bytes() == before
    assert (tmp_path / KEY_FILE).read_bytes() == key_before


def test_not_initialized(tmp_path: Path) -> None:
    with pytest.raises(SealedError, match="not initialized"):
        unseal(tmp_path)
    with pytest.raises(SealedError):
        seal_mode(tmp_path)


@pytest.mark.parametrize("passphrase", [None, "pw"])
def test_store_keyring_after_rotation(tmp_path: Path, passphrase: str | None) -> None:
    ring = init_root(tmp_path, passphrase=passphrase, kdf_params=CHEAP)
    kdf_before = json.loads((tmp_path / ROOT_FILE).read_text()).get("kdf")
    old_blob = ring.wrap(b"old", AAD)
    rotated = ring.with_new_root()
    store_keyring(tmp_path, rotated, passphrase=passphrase)
    doc = json.loads((tmp_path / ROOT_FILE).read_text())
    assert set(doc["roots"]) == {"1", "2"}
    assert doc.get("kdf") == kdf_before
    assert mode_of(tmp_path / ROOT_FILE) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    again = unseal(tmp_path, passphrase=passphrase)
    assert again.versions == (1, 2)
    assert again.current_version == 2
    assert again.unwrap(old_blob, AAD) == b"old"
    assert again.unwrap(rotated.wrap(b"new", AAD), AAD) == b"new"
    assert_no_plaintext_keys(tmp_path, rotated)


def test_store_keyring_never_drops_or_replaces_a_root(tmp_path: Path) -> None:
    ring = init_root(tmp_path)
    store_keyring(tmp_path, ring.with_new_root())
    before = (tmp_path / ROOT_FILE).read_bytes()
    with pytest.raises(CryptoError):
        store_keyring(tmp_path, ring)  # lacks version 2
    with pytest.raises(CryptoError):
        store_keyring(tmp_path, ring.with_new_root())  # a different version 2
    with pytest.raises(CryptoError):
        store_keyring(tmp_path, Keyring({1: os.urandom(32), 2: os.urandom(32)}))
    assert (tmp_path / ROOT_FILE).read_bytes() == before


def test_store_keyring_wrong_passphrase(tmp_path: Path) -> None:
    ring = init_root(tmp_path, passphrase="pw", kdf_params=CHEAP)
    before = (tmp_path / ROOT_FILE).read_bytes()
    with pytest.raises(SealedError):
        store_keyring(tmp_path, ring.with_new_root(), passphrase="PW")
    with pytest.raises(SealedError):
        store_keyring(tmp_path, ring.with_new_root())
    assert (tmp_path / ROOT_FILE).read_bytes() == before


def test_sealed_roots_are_bound_to_their_version(tmp_path: Path) -> None:
    store_keyring(tmp_path, init_root(tmp_path).with_new_root())
    path = tmp_path / ROOT_FILE
    doc = json.loads(path.read_text())
    doc["roots"]["1"], doc["roots"]["2"] = doc["roots"]["2"], doc["roots"]["1"]
    path.write_text(json.dumps(doc))
    with pytest.raises(SealedError):
        unseal(tmp_path)


def test_tampered_root_file(tmp_path: Path) -> None:
    init_root(tmp_path, passphrase="pw", kdf_params=CHEAP)
    path = tmp_path / ROOT_FILE
    good = json.loads(path.read_text())
    sealed = bytearray(base64.b64decode(good["roots"]["1"]))
    sealed[-1] ^= 1
    cases = [
        {**good, "roots": {"1": base64.b64encode(bytes(sealed)).decode()}},
        {**good, "kdf": {**good["kdf"], "salt": base64.b64encode(b"\x00" * 16).decode()}},
        {**good, "kdf": {**good["kdf"], "n": 2**11}},
        {**good, "mode": "keyfile"},
    ]
    for doc in cases:
        path.write_text(json.dumps(doc))
        with pytest.raises(SealedError):
            unseal(tmp_path, passphrase="pw")
    malformed = [
        "not json",
        json.dumps({**good, "format": 2}),
        json.dumps({**good, "mode": "hsm"}),
        json.dumps({**good, "roots": {}}),
        json.dumps({**good, "roots": {"one": good["roots"]["1"]}}),
        json.dumps({**good, "roots": {"1": "***"}}),
        json.dumps({**good, "kdf": {**good["kdf"], "n": 1000}}),
        json.dumps({**good, "kdf": {**good["kdf"], "n": 2**30}}),
        json.dumps({**good, "kdf": {**good["kdf"], "name": "pbkdf2"}}),
    ]
    for text in malformed:
        path.write_text(text)
        with pytest.raises(CryptoError):
            unseal(tmp_path, passphrase="pw")


def test_default_kdf_params(tmp_path: Path) -> None:
    assert DEFAULT_SCRYPT == ScryptParams(n=2**16, r=8, p=1)
    ring = init_root(tmp_path, passphrase="pw")
    kdf = json.loads((tmp_path / ROOT_FILE).read_text())["kdf"]
    assert (kdf["n"], kdf["r"], kdf["p"]) == (2**16, 8, 1)
    assert unseal(tmp_path, passphrase="pw").export_root_keys() == ring.export_root_keys()
