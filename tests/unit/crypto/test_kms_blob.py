import os
import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetward.crypto.errors import CryptoError, IntegrityError
from fleetward.crypto.keyring import Keyring
from fleetward.crypto.kms_blob import (
    BLOB_FORMAT,
    HEADER_SIZE,
    MIN_BLOB_SIZE,
    BlobHeader,
    backing_key_aad,
    decrypt_blob,
    encode_context,
    encrypt_blob,
    parse_header,
)

KEY = os.urandom(32)
HEADER = BlobHeader(key_id=str(uuid.uuid4()), key_version=3)
CONTEXT = {"PARAMETER_ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/db/password"}
PLAINTEXT = os.urandom(4096)
BLOB = encrypt_blob(HEADER, KEY, PLAINTEXT, CONTEXT)

contexts = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


def decode_context(data: bytes) -> dict[str, str]:
    """Test-side inverse of encode_context: its existence proves injectivity."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        fields = []
        for _ in range(2):
            (n,) = struct.unpack_from(">I", data, pos)
            fields.append(data[pos + 4 : pos + 4 + n].decode("utf-8"))
            pos += 4 + n
        out[fields[0]] = fields[1]
    assert pos == len(data)
    return out


def test_round_trip_and_layout() -> None:
    assert decrypt_blob(BLOB, KEY, CONTEXT) == PLAINTEXT
    assert len(BLOB) == MIN_BLOB_SIZE + len(PLAINTEXT)
    assert BLOB[0] == BLOB_FORMAT
    assert BLOB[1:17] == uuid.UUID(HEADER.key_id).bytes
    assert BLOB[17:21] == (3).to_bytes(4, "big")
    assert parse_header(BLOB) == HEADER
    assert decrypt_blob(encrypt_blob(HEADER, KEY, b"", {}), KEY, {}) == b""


@given(pos=st.integers(0, len(BLOB) - 1), mask=st.integers(1, 255))
def test_any_byte_flip_fails(pos: int, mask: int) -> None:
    tampered = bytearray(BLOB)
    tampered[pos] ^= mask
    with pytest.raises(IntegrityError):
        decrypt_blob(bytes(tampered), KEY, CONTEXT)


@given(cut=st.integers(0, len(BLOB) - 1))
def test_truncation_fails(cut: int) -> None:
    with pytest.raises(IntegrityError):
        decrypt_blob(BLOB[:cut], KEY, CONTEXT)


@given(other=contexts)
def test_different_context_fails(other: dict[str, str]) -> None:
    if other == CONTEXT:
        return
    with pytest.raises(IntegrityError):
        decrypt_blob(BLOB, KEY, other)


def test_context_order_does_not_matter_and_wrong_key_fails() -> None:
    ctx = {"b": "2", "a": "1"}
    blob = encrypt_blob(HEADER, KEY, b"x", ctx)
    assert decrypt_blob(blob, KEY, {"a": "1", "b": "2"}) == b"x"
    with pytest.raises(IntegrityError):
        decrypt_blob(blob, os.urandom(32), ctx)
    with pytest.raises(IntegrityError):
        decrypt_blob(blob, KEY, {})


def test_header_is_authenticated_not_just_parsed() -> None:
    # same key and context, but the header claims another key id / version
    for header in (BlobHeader(str(uuid.uuid4()), 3), BlobHeader(HEADER.key_id, 4)):
        forged = header.to_bytes() + BLOB[HEADER_SIZE:]
        assert parse_header(forged) == header
        with pytest.raises(IntegrityError):
            decrypt_blob(forged, KEY, CONTEXT)


@given(a=contexts, b=contexts)
def test_context_encoding_is_injective(a: dict[str, str], b: dict[str, str]) -> None:
    assert decode_context(encode_context(a)) == a
    if a != b:
        assert encode_context(a) != encode_context(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": "bc"}, {"ab": "c"}),
        ({"a": "b", "c": "d"}, {"a": "b\x00c"}),
        ({"": "ab"}, {"a": "b"}),
        ({"": ""}, {}),
        ({"a": ""}, {"": "a"}),
        ({"é": "x"}, {"e\u0301": "x"}),
    ],
)
def test_tricky_contexts_differ(a: dict[str, str], b: dict[str, str]) -> None:
    assert encode_context(a) != encode_context(b)


def test_context_encoding_is_canonical() -> None:
    assert encode_context({}) == b""
    assert encode_context({"b": "1", "a": "2"}) == encode_context({"a": "2", "b": "1"})
    assert encode_context({"a": "xy"}) == b"\x00\x00\x00\x01a\x00\x00\x00\x02xy"
    # sorted by UTF-8 bytes: U+FFFF sorts before U+10000
    assert decode_context(encode_context({"\U00010000": "", "\uffff": ""})) == {
        "\uffff": "",
        "\U00010000": "",
    }
    assert encode_context({"\U00010000": "", "\uffff": ""}).index("\uffff".encode()) < 8
    with pytest.raises(CryptoError):
        encode_context({"\ud800": "lone surrogate"})


def test_parse_header_rejects_malformed() -> None:
    with pytest.raises(CryptoError, match="too short"):
        parse_header(BLOB[: MIN_BLOB_SIZE - 1])
    with pytest.raises(CryptoError, match="format"):
        parse_header(b"\x01" + BLOB[1:])
    with pytest.raises(IntegrityError):
        decrypt_blob(b"\x01" + BLOB[1:], KEY, CONTEXT)


def test_header_validation() -> None:
    for bad_id in ("not-a-uuid", HEADER.key_id.upper(), HEADER.key_id.replace("-", "")):
        with pytest.raises(CryptoError):
            encrypt_blob(BlobHeader(bad_id, 1), KEY, b"x", {})
    for bad_version in (-1, 2**32):
        with pytest.raises(CryptoError):
            encrypt_blob(BlobHeader(HEADER.key_id, bad_version), KEY, b"x", {})
    with pytest.raises(CryptoError):
        encrypt_blob(HEADER, b"short", b"x", {})


def test_backing_key_aad_binds_arn_and_version() -> None:
    arn = "arn:aws:kms:us-east-1:123456789012:key/" + HEADER.key_id
    aads = {
        backing_key_aad(arn, 1),
        backing_key_aad(arn, 2),
        backing_key_aad(arn.replace("us-east-1", "us-west-2"), 1),
        backing_key_aad(arn + "1", 1),
    }
    assert len(aads) == 4
    ring = Keyring({1: os.urandom(32)})
    wrapped = ring.wrap(KEY, backing_key_aad(arn, 1))
    assert ring.unwrap(wrapped, backing_key_aad(arn, 1)) == KEY
    with pytest.raises(IntegrityError):
        ring.unwrap(wrapped, backing_key_aad(arn, 2))
    with pytest.raises(CryptoError):
        backing_key_aad(arn, -1)
