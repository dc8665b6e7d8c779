"""Asymmetric (RSA, ECC) and HMAC keys through boto3 with real IAM: key metadata, Sign /
Verify checked with the public key outside KMS, RSA encryption both ways, HMACs, and
AWS's errors for the wrong key, algorithm or state."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.support.server import Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


def _err(fn: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return str(e.value.response["Error"]["Code"]), str(e.value.response["Error"]["Message"])


def test_key_metadata_and_spec_rules(server: Server) -> None:
    kms = server.client("kms")
    sign_rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert sign_rsa["KeySpec"] == sign_rsa["CustomerMasterKeySpec"] == "RSA_2048"
    assert sign_rsa["KeyUsage"] == "SIGN_VERIFY" and "EncryptionAlgorithms" not in sign_rsa
    assert sorted(sign_rsa["SigningAlgorithms"]) == [
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
    ]
    enc_rsa = kms.create_key(KeySpec="RSA_3072")["KeyMetadata"]
    assert enc_rsa["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert sorted(enc_rsa["EncryptionAlgorithms"]) == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    p521 = kms.create_key(CustomerMasterKeySpec="ECC_NIST_P521", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert p521["SigningAlgorithms"] == ["ECDSA_SHA_512"] and p521["KeySpec"] == "ECC_NIST_P521"
    hmac_key = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert hmac_key["MacAlgorithms"] == ["HMAC_SHA_384"] and "EncryptionAlgorithms" not in hmac_key

    for kw in (
        {"KeySpec": "HMAC_256"},  # the default usage ENCRYPT_DECRYPT does not fit
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "ENCRYPT_DECRYPT"},
        {"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "RSA_2048", "KeyUsage": "GENERATE_VERIFY_MAC"},
    ):
        code, message = _err(kms.create_key, **kw)
        assert code == "ValidationException" and "is not compatible with KeySpec" in message
    assert _err(kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")[0] == "UnsupportedOperationException"

    # Only symmetric encryption keys rotate; data keys come from symmetric keys only.
    for key in (sign_rsa, hmac_key):
        assert _err(kms.enable_key_rotation, KeyId=key["KeyId"])[0] == "UnsupportedOperationException"
        assert _err(kms.rotate_key_on_demand, KeyId=key["KeyId"])[0] == "UnsupportedOperationException"
    assert (
        _err(kms.generate_data_key, KeyId=enc_rsa["KeyId"], KeySpec="AES_256")[0]
        == "InvalidKeyUsageException"
    )
    assert _err(kms.encrypt, KeyId=sign_rsa["KeyId"], Plaintext=b"x")[0] == "InvalidKeyUsageException"
    assert _err(kms.get_public_key, KeyId=hmac_key["KeyId"])[0] == "UnsupportedOperationException"


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
        ("RSA_2048", "RSASSA_PSS_SHA_384"),
    ],
)
def test_sign_verify_checked_with_the_public_key(server: Server, spec: str, algorithm: str) -> None:
    kms = server.client("kms")
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    alias = f"alias/signer-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    pub = kms.get_public_key(KeyId=alias)
    assert pub["KeyId"] == key["Arn"] and pub["KeySpec"] == spec and pub["KeyUsage"] == "SIGN_VERIFY"
    assert pub["SigningAlgorithms"] == key["SigningAlgorithms"] and "EncryptionAlgorithms" not in pub
    public = serialization.load_der_public_key(pub["PublicKey"])
    digest = getattr(hashes, "SHA" + algorithm.rsplit("_", 1)[1])()
    message = b"the quick brown fox"

    signed = kms.sign(KeyId=alias, Message=message, SigningAlgorithm=algorithm)
    assert signed["KeyId"] == key["Arn"] and signed["SigningAlgorithm"] == algorithm
    if isinstance(public, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        public.verify(signed["Signature"], message, pss, digest)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signed["Signature"], message, ec.ECDSA(digest))
    ok = kms.verify(
        KeyId=key["KeyId"], Message=message, Signature=signed["Signature"], SigningAlgorithm=algorithm
    )
    assert ok["SignatureValid"] is True

    # A precomputed digest signs the same way; RAW and DIGEST verify each other.
    pre = hashlib.new(digest.name, message).digest()
    by_digest = kms.sign(KeyId=key["KeyId"], Message=pre, MessageType="DIGEST", SigningAlgorithm=algorithm)
    kms.verify(
        KeyId=key["KeyId"], Message=message, Signature=by_digest["Signature"], SigningAlgorithm=algorithm
    )
    assert _err(
        kms.sign, KeyId=key["KeyId"], Message=pre[:-1], MessageType="DIGEST", SigningAlgorithm=algorithm
    ) == ("ValidationException", f"Digest is invalid length for algorithm {algorithm}.")

    assert (
        _err(
            kms.verify,
            KeyId=key["KeyId"],
            Message=message + b".",
            Signature=signed["Signature"],
            SigningAlgorithm=algorithm,
        )[0]
        == "KMSInvalidSignatureException"
    )
    code, message_text = _err(kms.sign, KeyId=key["KeyId"], Message=message, SigningAlgorithm="ECDSA_SHA_512")
    assert code == "ValidationException" and "signingAlgorithm" in message_text
    kms.disable_key(KeyId=key["KeyId"])
    assert _err(kms.sign, KeyId=key["KeyId"], Message=message, SigningAlgorithm=algorithm) == (
        "DisabledException",
        f"{key['Arn']} is disabled.",
    )


def test_rsa_encryption_both_ways(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    sym = kms.create_key()["KeyMetadata"]
    kid = key["KeyId"]
    blob = kms.encrypt(KeyId=kid, Plaintext=b"hello", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert blob["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256" and blob["KeyId"] == key["Arn"]
    out = kms.decrypt(
        KeyId=kid, CiphertextBlob=blob["CiphertextBlob"], EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert out["Plaintext"] == b"hello" and out["KeyId"] == key["Arn"]

    # Encrypted outside KMS with the public key, decrypted inside.
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=kid)["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    outside = public.encrypt(b"from outside", oaep)
    assert kms.decrypt(KeyId=kid, CiphertextBlob=outside, EncryptionAlgorithm="RSAES_OAEP_SHA_1")[
        "Plaintext"
    ] == (b"from outside")
    moved = kms.re_encrypt(
        CiphertextBlob=outside,
        SourceKeyId=kid,
        SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
        DestinationKeyId=sym["KeyId"],
    )
    assert moved["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_1"
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"from outside"

    assert _err(kms.encrypt, KeyId=kid, Plaintext=b"x")[0] == "ValidationException"  # algorithm required
    assert _err(kms.encrypt, KeyId=kid, Plaintext=b"x" * 300, EncryptionAlgorithm="RSAES_OAEP_SHA_256")[
        0
    ] == ("ValidationException")
    code, _ = _err(
        kms.encrypt,
        KeyId=kid,
        Plaintext=b"x",
        EncryptionAlgorithm="RSAES_OAEP_SHA_1",
        EncryptionContext={"a": "b"},
    )
    assert code == "ValidationException"
    tampered = bytearray(blob["CiphertextBlob"])
    tampered[10] ^= 1
    assert (
        _err(
            kms.decrypt, KeyId=kid, CiphertextBlob=bytes(tampered), EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        )[0]
        == "InvalidCiphertextException"
    )
    assert _err(kms.sign, KeyId=kid, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")[0] == (
        "InvalidKeyUsageException"
    )


def test_hmac_generate_and_verify(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    sym = kms.create_key()["KeyMetadata"]
    made = kms.generate_mac(KeyId=key["KeyId"], Message=b"payload", MacAlgorithm="HMAC_SHA_256")
    assert made["KeyId"] == key["Arn"] and made["MacAlgorithm"] == "HMAC_SHA_256" and len(made["Mac"]) == 32
    again = kms.generate_mac(KeyId=key["Arn"], Message=b"payload", MacAlgorithm="HMAC_SHA_256")
    assert again["Mac"] == made["Mac"]
    ok = kms.verify_mac(KeyId=key["KeyId"], Message=b"payload", Mac=made["Mac"], MacAlgorithm="HMAC_SHA_256")
    assert ok["MacValid"] is True
    assert (
        _err(
            kms.verify_mac,
            KeyId=key["KeyId"],
            Message=b"payload!",
            Mac=made["Mac"],
            MacAlgorithm="HMAC_SHA_256",
        )[0]
        == "KMSInvalidMacException"
    )
    assert _err(kms.generate_mac, KeyId=key["KeyId"], Message=b"p", MacAlgorithm="HMAC_SHA_512")[0] == (
        "ValidationException"
    )
    assert _err(kms.generate_mac, KeyId=sym["KeyId"], Message=b"p", MacAlgorithm="HMAC_SHA_256")[0] == (
        "InvalidKeyUsageException"
    )
    assert _err(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"p")[0] == "InvalidKeyUsageException"


def test_sign_by_grant_and_alias_type_rule(server: Server) -> None:
    kms = server.client("kms")
    iam = server.client("iam")
    key = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    name = f"s{uuid.uuid4().hex[:10]}"
    user_arn = iam.create_user(UserName=name)["User"]["Arn"]
    k = iam.create_access_key(UserName=name)["AccessKey"]
    user = server.client("kms", creds=(k["AccessKeyId"], k["SecretAccessKey"]))
    assert _err(user.sign, KeyId=key["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")[0] == (
        "AccessDeniedException"
    )
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user_arn, Operations=["Sign"])
    sig = user.sign(KeyId=key["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")["Signature"]
    assert _err(
        user.verify, KeyId=key["KeyId"], Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_384"
    )[0] == ("AccessDeniedException")
    # A grant with an encryption context constraint does not fit an asymmetric key.
    assert (
        _err(
            kms.create_grant,
            KeyId=key["KeyId"],
            GranteePrincipal=user_arn,
            Operations=["Sign"],
            Constraints={"EncryptionContextSubset": {"a": "b"}},
        )[0]
        == "ValidationException"
    )

    alias = f"alias/typed-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    sym = kms.create_key()["KeyMetadata"]
    assert _err(kms.update_alias, AliasName=alias, TargetKeyId=sym["KeyId"])[0] == "ValidationException"
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.update_alias(AliasName=alias, TargetKeyId=other["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == other["KeyId"]
