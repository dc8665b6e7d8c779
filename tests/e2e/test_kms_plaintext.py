"""No plaintext at rest: a canary written through Encrypt, the data key of GenerateDataKey,
every backing key and the private keys / HMAC secrets of asymmetric and HMAC keys appear
nowhere in the database, its WAL, the data directory or the log."""

from __future__ import annotations

import base64
import secrets
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fleetward.crypto import kms_blob, seal
from tests.support.server import Server


def _forms(secret: bytes) -> list[bytes]:
    """The secret raw, hex, and base64 at each of the three alignments inside a longer stream."""
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + secret)
        inner = encoded[4 if shift else 0 : -4]  # drop the chunks touched by padding
        forms += [inner, inner.replace(b"+", b"-").replace(b"/", b"_")]
    return [f for f in forms if len(f) >= 16]


def _scan(paths: list[Path], secrets_: dict[str, bytes]) -> list[str]:
    found = []
    for path in paths:
        data = path.read_bytes()
        for name, secret in secrets_.items():
            for form in _forms(secret):
                if form in data:
                    found.append(f"{name} in {path.name}")
    return found


def _private_numbers(backing: dict[str, bytes]) -> dict[str, bytes]:
    """The secret numbers inside PKCS#8 private keys (RSA d and primes, EC scalar), as bytes."""
    out: dict[str, bytes] = {}
    for name, material in backing.items():
        try:
            key = serialization.load_der_private_key(material, password=None)
        except ValueError:
            continue  # a symmetric backing key or an HMAC secret: watched as is
        if isinstance(key, rsa.RSAPrivateKey):
            numbers = key.private_numbers()
            values = {"d": numbers.d, "p": numbers.p, "q": numbers.q}
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            values = {"scalar": key.private_numbers().private_value}
        else:
            continue
        for label, value in values.items():
            out[f"{name} {label}"] = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return out


def test_no_plaintext_at_rest(tmp_path: Path) -> None:
    srv = Server(tmp_path / "canary").start()
    canary = b"CANARY-" + secrets.token_hex(24).encode()
    try:
        kms = srv.client("kms")
        key = kms.create_key(Description="canary")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/canary", TargetKeyId=key)
        blob = kms.encrypt(KeyId="alias/canary", Plaintext=canary, EncryptionContext={"purpose": "canary"})[
            "CiphertextBlob"
        ]
        assert (
            kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "canary"})["Plaintext"] == canary
        )
        data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
        kms.rotate_key_on_demand(KeyId=key)
        kms.describe_key(KeyId="alias/aws/ssm")  # the managed key's backing key too
        rsa_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.sign(KeyId=rsa_key, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
        ec_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.sign(KeyId=ec_key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        kms.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256")
        files_running = [p for p in srv.data_dir.rglob("*") if p.is_file()]
        assert any(p.name.endswith("-wal") for p in files_running)
        db = srv.data_dir / "fleetward.db"
        ring = seal.unseal(srv.data_dir)
        with sqlite3.connect(db) as c:
            rows = c.execute("SELECT key_arn, version, wrapped FROM kms_key_versions").fetchall()
        backing = {
            f"backing key {arn} v{v}": ring.unwrap(bytes(w), kms_blob.backing_key_aad(arn, v))
            for arn, v, w in rows
        }
        assert len(backing) == 6
        watched = {
            "canary": canary,
            "data key": data_key["Plaintext"],
            **backing,
            **_private_numbers(backing),
        }
        assert _scan(files_running, watched) == []
    finally:
        srv.stop()
    files = [p for p in srv.data_dir.rglob("*") if p.is_file()]
    assert srv.log_path in files
    assert _scan(files, watched) == []
