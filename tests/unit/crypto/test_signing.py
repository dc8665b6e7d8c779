import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fleetward.crypto.errors import CryptoError
from fleetward.crypto.signing import (
    fingerprint,
    new_rsa_private_key_pem,
    public_key_der,
    sign,
    verify,
)

PEM = new_rsa_private_key_pem()
DER = public_key_der(PEM)
DATA = b'{"digestStartTime":"2024-01-01T00:00:00Z"}'


def test_key_formats() -> None:
    assert PEM.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    public = serialization.load_der_public_key(DER)
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


def test_fingerprint() -> None:
    fp = fingerprint(DER)
    assert len(fp) == 32
    assert int(fp, 16) >= 0
    assert fingerprint(DER) == fp
    assert fingerprint(public_key_der(new_rsa_private_key_pem())) != fp


def test_sign_verify() -> None:
    sig = sign(PEM, DATA)
    assert len(sig) == 256
    assert verify(DER, DATA, sig)
    assert not verify(DER, DATA + b" ", sig)
    assert not verify(DER, DATA, bytes([sig[0] ^ 1]) + sig[1:])
    assert not verify(DER, DATA, b"")
    other = public_key_der(new_rsa_private_key_pem())
    assert not verify(other, DATA, sig)


def test_bad_keys() -> None:
    with pytest.raises(CryptoError):
        sign(b"not a pem", DATA)
    with pytest.raises(CryptoError):
        verify(b"not der", DATA, b"sig")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ec_der = ec_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(CryptoError):
        sign(ec_pem, DATA)
    with pytest.raises(CryptoError):
        public_key_der(ec_pem)
    with pytest.raises(CryptoError):
        verify(ec_der, DATA, b"sig")
