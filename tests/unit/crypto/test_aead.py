import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetward.crypto.aead import OVERHEAD, open_sealed, seal
from fleetward.crypto.errors import CryptoError, IntegrityError

KEY = bytes(range(32))


@given(plaintext=st.binary(max_size=256), aad=st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    blob = seal(KEY, plaintext, aad)
    assert len(blob) == len(plaintext) + OVERHEAD
    assert open_sealed(KEY, blob, aad) == plaintext


def test_nonce_is_fresh_each_time() -> None:
    assert seal(KEY, b"same", b"") != seal(KEY, b"same", b"")


@given(data=st.data())
def test_any_byte_flip_fails(data: st.DataObject) -> None:
    blob = seal(KEY, b"secret value", b"aad")
    pos = data.draw(st.integers(0, len(blob) - 1))
    mask = data.draw(st.integers(1, 255))
    tampered = bytearray(blob)
    tampered[pos] ^= mask
    with pytest.raises(IntegrityError):
        open_sealed(KEY, bytes(tampered), b"aad")


def test_wrong_aad_wrong_key_short_blob() -> None:
    blob = seal(KEY, b"x", b"a")
    with pytest.raises(IntegrityError):
        open_sealed(KEY, blob, b"b")
    with pytest.raises(IntegrityError):
        open_sealed(os.urandom(32), blob, b"a")
    with pytest.raises(IntegrityError):
        open_sealed(KEY, blob[: OVERHEAD - 1], b"a")


def test_key_must_be_256_bits() -> None:
    with pytest.raises(CryptoError):
        seal(b"k" * 16, b"x", b"")
    with pytest.raises(CryptoError):
        open_sealed(b"k" * 31, b"\x00" * 40, b"")
