"""Asymmetric and HMAC key material: sign / verify, RSA-OAEP, HMAC, checked against the
``cryptography`` package's own verification of the public key."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from fleetward.crypto import kms_keys
from fleetward.crypto.errors import CryptoError

EC_CASES = [
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]


@pytest.fixture(scope="module")
def rsa_material() -> bytes:
    return kms_keys.generate("RSA_2048")


@pytest.mark.parametrize(("spec", "algorithm"), EC_CASES)
def test_ecdsa_raw_and_digest_verify_with_the_public_key(spec: str, algorithm: str) -> None:
    material = kms_keys.generate(spec)
    public = serialization.load_der_public_key(kms_keys.public_key_der(material))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    digest_name = "sha" + algorithm.rsplit("_", 1)[1]
    message = b"attack at dawn"
    sig = kms_keys.sign(material, algorithm, message, is_digest=False)
    public.verify(sig, message, ec.ECDSA(getattr(hashes, digest_name.upper())()))
    digest = hashlib.new(digest_name, message).digest()
    sig2 = kms_keys.sign(material, algorithm, digest, is_digest=True)
    assert kms_keys.verify(material, algorithm, message, sig2, is_digest=False)
    assert not kms_keys.verify(material, algorithm, message + b"!", sig2, is_digest=False)
    with pytest.raises(CryptoError):
        kms_keys.sign(material, algorithm, digest[:-1], is_digest=True)


@pytest.mark.parametrize("algorithm", kms_keys.SIGNING_ALGORITHMS["RSA_2048"])
def test_rsa_signatures(rsa_material: bytes, algorithm: str) -> None:
    public = serialization.load_der_public_key(kms_keys.public_key_der(rsa_material))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    digest = getattr(hashes, "SHA" + algorithm.rsplit("_", 1)[1])()
    pad: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        if "PSS" in algorithm
        else padding.PKCS1v15()
    )
    sig = kms_keys.sign(rsa_material, algorithm, b"m", is_digest=False)
    public.verify(sig, b"m", pad, digest)
    assert kms_keys.verify(rsa_material, algorithm, b"m", sig, is_digest=False)
    assert not kms_keys.verify(rsa_material, algorithm, b"n", sig, is_digest=False)
    assert not kms_keys.verify(rsa_material, algorithm, b"m", b"garbage", is_digest=False)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_oaep_round_trip_and_limits(rsa_material: bytes, algorithm: str) -> None:
    blob = kms_keys.rsa_encrypt(rsa_material, algorithm, b"secret")
    assert kms_keys.rsa_decrypt(rsa_material, algorithm, blob) == b"secret"
    other = "RSAES_OAEP_SHA_256" if algorithm == "RSAES_OAEP_SHA_1" else "RSAES_OAEP_SHA_1"
    with pytest.raises(CryptoError):
        kms_keys.rsa_decrypt(rsa_material, other, blob)
    with pytest.raises(CryptoError):
        kms_keys.rsa_encrypt(rsa_material, algorithm, b"x" * 256)


@pytest.mark.parametrize(("spec", "size"), sorted(kms_keys.HMAC_SPECS.items()))
def test_hmac(spec: str, size: int) -> None:
    material = kms_keys.generate(spec)
    assert len(material) == size
    algorithm = kms_keys.MAC_ALGORITHMS[spec]
    tag = kms_keys.mac(material, algorithm, b"msg")
    assert kms_keys.verify_mac(material, algorithm, b"msg", tag)
    assert not kms_keys.verify_mac(material, algorithm, b"msh", tag)
    assert kms_keys.generate(spec) != material


def test_unknown_spec_and_bad_material() -> None:
    with pytest.raises(CryptoError):
        kms_keys.generate("SM2")
    with pytest.raises(CryptoError):
        kms_keys.public_key_der(b"not a key")
