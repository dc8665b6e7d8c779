"""RSA key pairs for the audit trail's digest signatures (SHA256withRSA, as CloudTrail).

Private keys travel as PKCS#8 PEM (unencrypted: the caller wraps them with the
:class:`~fleetward.crypto.keyring.Keyring` before storing); public keys as
SubjectPublicKeyInfo DER, which is what CloudTrail's ``ListPublicKeys`` returns.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fleetward.crypto.errors import CryptoError

__all__ = ["fingerprint", "new_rsa_private_key_pem", "public_key_der", "sign", "verify"]

RSA_KEY_BITS = 2048


def _load_private(private_pem: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CryptoError("not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError("not an RSA private key")
    return key


def new_rsa_private_key_pem() -> bytes:
    """A fresh 2048-bit RSA private key (public exponent 65537) as PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_der(private_pem: bytes) -> bytes:
    """The SubjectPublicKeyInfo DER of a PEM RSA private key. Raises ``CryptoError``."""
    return (
        _load_private(private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def fingerprint(public_der: bytes) -> str:
    """Hex MD5 of the public key DER: CloudTrail's 32-hex-digit key fingerprint.

    An identifier for looking keys up, not a security control: signatures are
    always checked against the full key.
    """
    return hashlib.md5(public_der, usedforsecurity=False).hexdigest()


def sign(private_pem: bytes, data: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 over ``data``. Raises ``CryptoError`` for a bad key."""
    return _load_private(private_pem).sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify(public_der: bytes, data: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is a valid SHA256withRSA signature of ``data``.

    Raises ``CryptoError`` if ``public_der`` is not an RSA SubjectPublicKeyInfo.
    """
    try:
        key = serialization.load_der_public_key(public_der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CryptoError("not a DER public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoError("not an RSA public key")
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
