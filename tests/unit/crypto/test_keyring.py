import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetward.crypto.errors import CryptoError, IntegrityError
from fleetward.crypto.keyring import Keyring

AAD = b"arn:aws:kms:us-east-1:123456789012:key/x\x00v1"


def test_round_trip_and_header() -> None:
    ring = Keyring({1: os.urandom(32)})
    blob = ring.wrap(b"backing key bytes", AAD)
    assert blob[0] == 1
    assert int.from_bytes(blob[1:5], "big") == 1
    assert ring.unwrap(blob, AAD) == b"backing key bytes"


def test_aad_is_bound() -> None:
    ring = Keyring({1: os.urandom(32)})
    blob = ring.wrap(b"k", AAD)
    with pytest.raises(IntegrityError):
        ring.unwrap(blob, AAD + b"x")
    with pytest.raises(IntegrityError):
        ring.unwrap(blob, b"")


RING = Keyring({1: os.urandom(32), 2: os.urandom(32)})
BLOB = RING.wrap(b"\x00" * 32, AAD)


@given(pos=st.integers(0, len(BLOB) - 1), mask=st.integers(1, 255))
def test_any_byte_flip_of_wrapped_blob_fails(pos: int, mask: int) -> None:
    tampered = bytearray(BLOB)
    tampered[pos] ^= mask
    with pytest.raises(IntegrityError):
        RING.unwrap(bytes(tampered), AAD)


@given(cut=st.integers(0, len(BLOB) - 1))
def test_truncation_fails(cut: int) -> None:
    with pytest.raises(IntegrityError):
        RING.unwrap(BLOB[:cut], AAD)


def test_version_byte_pointing_to_other_known_root_fails() -> None:
    tampered = bytearray(BLOB)
    tampered[4] = 1  # was version 2, now names root 1
    with pytest.raises(IntegrityError):
        RING.unwrap(bytes(tampered), AAD)


def test_unknown_root_version_is_a_crypto_error() -> None:
    blob = Keyring({7: os.urandom(32)}).wrap(b"x", AAD)
    with pytest.raises(CryptoError, match="unknown root key version 7"):
        RING.unwrap(blob, AAD)


def test_rotation() -> None:
    old = Keyring({1: os.urandom(32)})
    old_blob = old.wrap(b"payload", AAD)
    new = old.with_new_root()
    assert new.current_version == 2
    assert new.versions == (1, 2)
    assert old.current_version == 1  # immutable
    assert new.unwrap(old_blob, AAD) == b"payload"
    new_blob = new.wrap(b"payload", AAD)
    assert int.from_bytes(new_blob[1:5], "big") == 2
    with pytest.raises(IntegrityError):
        old.unwrap(new_blob, AAD)
    assert new.needs_rewrap(old_blob)
    assert not new.needs_rewrap(new_blob)
    moved = new.rewrap(old_blob, AAD)
    assert not new.needs_rewrap(moved)
    assert new.unwrap(moved, AAD) == b"payload"
    assert new.rewrap(new_blob, AAD) == new_blob
    with pytest.raises(IntegrityError):
        new.rewrap(old_blob, b"other aad")


def test_constructor_checks() -> None:
    with pytest.raises(CryptoError):
        Keyring({})
    with pytest.raises(CryptoError):
        Keyring({0: os.urandom(32)})
    with pytest.raises(CryptoError):
        Keyring({1: os.urandom(16)})
    with pytest.raises(CryptoError):
        Keyring({2**32: os.urandom(32)})


def test_repr_hides_keys() -> None:
    key = bytes(range(32))
    text = repr(Keyring({3: key}))
    assert text == "Keyring(versions=[3])"
    assert key.hex() not in text


def test_export_is_a_copy() -> None:
    ring = Keyring({1: os.urandom(32)})
    exported = ring.export_root_keys()
    exported[2] = os.urandom(32)
    assert ring.versions == (1,)
