"""``trail export``: files CloudTrail's validation procedure accepts; a tampered trail is not exported."""

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fleetward.audit.digest import close_period, current_signing_key
from fleetward.audit.export import TrailInvalid, export_trail
from fleetward.audit.writer import AuditWriter
from tests.unit.audit.helpers import ACCT, KEYRING, record, trail_db

T0 = 1_700_000_000.0


async def _trail(tmp: Path) -> Any:
    db = await trail_db(tmp)
    w = AuditWriter(db)
    for i in range(3):
        await w.submit(record(T0 + i), record(T0 + i + 0.5, "bob", region="eu-west-1"))
    await close_period(db, KEYRING, end=T0 + 100, now=T0 + 100)
    await w.submit(record(T0 + 200))
    await close_period(db, KEYRING, end=T0 + 300, now=T0 + 300)
    return db


async def _export(db: Any, out: Path) -> dict[str, int]:
    async with db.write() as conn:
        fp, pem = await current_signing_key(conn, KEYRING, T0 + 400)
    return await export_trail(db, out, fingerprint=fp, private_pem=pem, now=T0 + 400)


def _gunzip(p: Path) -> bytes:
    return gzip.decompress(p.read_bytes())


async def test_export_follows_cloudtrails_validation_procedure(tmp_path: Path) -> None:
    """Checked as CloudTrail documents it, with the cryptography package only."""
    db = await _trail(tmp_path)
    out = tmp_path / "out"
    counts = await _export(db, out)
    assert counts == {"logFiles": 3, "digestFiles": 4, "records": 7}
    keys = {
        k["Fingerprint"]: bytes.fromhex(k["Value"])
        for k in json.loads((out / "public-keys.json").read_text())
    }
    for region in ("us-east-1", "eu-west-1"):
        digests = sorted(out.glob(f"AWSLogs/{ACCT}/CloudTrail-Digest/{region}/*/*/*/*.json.gz"))
        assert len(digests) == 2
        prev_hash = prev_sig = None
        for f in digests:
            content = _gunzip(f)
            d = json.loads(content)
            sig = json.loads(Path(str(f) + ".metadata.json").read_text())["signature"]
            to_sign = "\n".join(
                [
                    d["digestEndTime"],
                    f"{d['digestS3Bucket']}/{d['digestS3Object']}",
                    hashlib.sha256(content).hexdigest(),
                    d["previousDigestSignature"] or "null",
                ]
            ).encode()
            pub = serialization.load_der_public_key(keys[d["digestPublicKeyFingerprint"]])
            assert isinstance(pub, rsa.RSAPublicKey)
            pub.verify(bytes.fromhex(sig), to_sign, padding.PKCS1v15(), hashes.SHA256())
            assert (d["previousDigestHashValue"], d["previousDigestSignature"]) == (prev_hash, prev_sig)
            assert d["digestS3Object"] == str(f.relative_to(out))
            for lf in d["logFiles"]:
                log = _gunzip(out / lf["s3Object"])
                assert hashlib.sha256(log).hexdigest() == lf["hashValue"]
                assert all(r["awsRegion"] == region for r in json.loads(log)["Records"])
            prev_hash, prev_sig = hashlib.sha256(content).hexdigest(), sig
    await db.close()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET record = replace(record, '127.0.0.1', '10.0.0.9') WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 3",
        "UPDATE audit_digests SET body = replace(body, '\"recordCount\":1', '\"recordCount\":2') WHERE id = 2",
    ],
)
async def test_a_tampered_trail_is_not_exported(tmp_path: Path, sql: str) -> None:
    """Re-signing it would turn the change into valid-looking CloudTrail files."""
    db = await _trail(tmp_path)
    async with db.write() as c:
        await c.execute(sql)
    out = tmp_path / "out"
    with pytest.raises(TrailInvalid) as e:
        await _export(db, out)
    assert e.value.report.findings
    assert not out.exists()
    await db.close()
