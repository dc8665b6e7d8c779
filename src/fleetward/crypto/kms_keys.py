"""Key material of asymmetric and HMAC KMS keys, and the operations on it (pure).

Material is bytes, the form in which the key service wraps it with the root
keyring (exactly as symmetric backing keys): PKCS#8 DER for RSA and ECC
private keys, the raw secret for HMAC keys. Public keys leave as
SubjectPublicKeyInfo DER (what KMS's ``GetPublicKey`` returns). ECDSA
signatures are DER-encoded, as KMS returns them.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from fleetward.crypto.errors import CryptoError

__all__ = [
    "ENCRYPTION_ALGORITHMS",
    "HMAC_SPECS",
    "MAC_ALGORITHMS",
    "SIGNING_ALGORITHMS",
    "generate",
    "mac",
    "public_key_der",
    "rsa_decrypt",
    "rsa_encrypt",
    "sign",
    "verify",
    "verify_mac",
]

_RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
HMAC_SPECS = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}  # key bytes
_RSA_SIGNING = [
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
]
SIGNING_ALGORITHMS: dict[str, list[str]] = {
    **{spec: _RSA_SIGNING for spec in _RSA_BITS},
    "ECC_NIST_P256": ["ECDSA_SHA_256"],
    "ECC_NIST_P384": ["ECDSA_SHA_384"],
    "ECC_NIST_P521": ["ECDSA_SHA_512"],
    "ECC_SECG_P256K1": ["ECDSA_SHA_256"],
}
ENCRYPTION_ALGORITHMS: dict[str, list[str]] = {
    spec: ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] for spec in _RSA_BITS
}
MAC_ALGORITHMS = {
    "HMAC_224": "HMAC_SHA_224",
    "HMAC_256": "HMAC_SHA_256",
    "HMAC_384": "HMAC_SHA_384",
    "HMAC_512": "HMAC_SHA_512",
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def generate(spec: str) -> bytes:
    """Fresh material for a key of ``spec`` (CryptoError for an unknown spec)."""
    if spec in _RSA_BITS:
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(
            public_exponent=65537, key_size=_RSA_BITS[spec]
        )
    elif spec in _CURVES:
        private = ec.generate_private_key(_CURVES[spec]())
    elif spec in HMAC_SPECS:
        return os.urandom(HMAC_SPECS[spec])
    else:
        raise CryptoError(f"no key material for key spec {spec}")
    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private(material: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_der_private_key(material, password=None)
    except (ValueError, TypeError):
        raise CryptoError("not a PKCS#8 private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CryptoError("not an RSA or EC private key")
    return key


def public_key_der(material: bytes) -> bytes:
    """The SubjectPublicKeyInfo DER of an RSA or ECC key's material."""
    return (
        _private(material)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _hash_of(algorithm: str) -> hashes.HashAlgorithm:
    return _HASHES[algorithm.rsplit("_", 1)[1]]()


def _rsa_padding(algorithm: str, digest: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS"):
        # KMS uses a salt as long as the digest.
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    return padding.PKCS1v15()


def _check_digest(message: bytes, digest: hashes.HashAlgorithm, is_digest: bool) -> None:
    if is_digest and len(message) != digest.digest_size:
        raise CryptoError(f"a {digest.name} digest is {digest.digest_size} bytes")


def sign(material: bytes, algorithm: str, message: bytes, *, is_digest: bool) -> bytes:
    """Sign ``message`` (or, with ``is_digest``, its precomputed digest) with ``algorithm``.

    Raises CryptoError for a digest of the wrong length.
    """
    key = _private(material)
    digest = _hash_of(algorithm)
    _check_digest(message, digest, is_digest)
    chosen: hashes.HashAlgorithm | utils.Prehashed = utils.Prehashed(digest) if is_digest else digest
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, _rsa_padding(algorithm, digest), chosen)
    return key.sign(message, ec.ECDSA(chosen))


def verify(material: bytes, algorithm: str, message: bytes, signature: bytes, *, is_digest: bool) -> bool:
    """Whether ``signature`` is valid for ``message`` under the key and ``algorithm``.

    Raises CryptoError for a digest of the wrong length.
    """
    public = _private(material).public_key()
    digest = _hash_of(algorithm)
    _check_digest(message, digest, is_digest)
    chosen: hashes.HashAlgorithm | utils.Prehashed = utils.Prehashed(digest) if is_digest else digest
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, _rsa_padding(algorithm, digest), chosen)
        else:
            public.verify(signature, message, ec.ECDSA(chosen))
    except (InvalidSignature, ValueError):
        return False
    return True


def _oaep(algorithm: str) -> padding.OAEP:
    # SHA-1 in OAEP is AWS's RSAES_OAEP_SHA_1 (OAEP does not rely on collision resistance).
    digest: hashes.HashAlgorithm = (
        hashes.SHA1() if algorithm == "RSAES_OAEP_SHA_1" else hashes.SHA256()  # noqa: S303
    )
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


def rsa_encrypt(material: bytes, algorithm: str, plaintext: bytes) -> bytes:
    """RSAES-OAEP encryption; CryptoError when the plaintext is too long for the key."""
    key = _private(material)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError("not an RSA key")
    try:
        return key.public_key().encrypt(plaintext, _oaep(algorithm))
    except ValueError:
        raise CryptoError("plaintext too long for this key and algorithm") from None


def rsa_decrypt(material: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    """RSAES-OAEP decryption; IntegrityError-free: any failure is a CryptoError."""
    key = _private(material)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError("not an RSA key")
    try:
        return key.decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        raise CryptoError("the ciphertext cannot be decrypted") from None


def mac(material: bytes, algorithm: str, message: bytes) -> bytes:
    """HMAC of ``message`` with ``algorithm`` (HMAC_SHA_224 / 256 / 384 / 512)."""
    name = "sha" + algorithm.rsplit("_", 1)[1]
    return hmac.new(material, message, getattr(hashlib, name)).digest()


def verify_mac(material: bytes, algorithm: str, message: bytes, tag: bytes) -> bool:
    """Constant-time comparison of ``tag`` with the HMAC of ``message``."""
    return hmac.compare_digest(mac(material, algorithm, message), tag)
