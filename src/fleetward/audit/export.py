"""``trail export``: CloudTrail-format log and digest files from the trail.

For every digest of the chain and every (account, region) with records in
it, one gzipped ``{"Records": [...]}`` log file (the stored record texts,
byte for byte) under ``AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/``,
and for every (account, region) one digest file per period under
``CloudTrail-Digest/`` in CloudTrail's digest format, chained per
(account, region) and signed SHA256withRSA with the current trail key
(the signature, as S3 object metadata in CloudTrail, is written beside
each digest as ``<file>.metadata.json``). Records not yet covered by a
digest are not exported.

The trail is validated first and a trail with findings is not exported:
re-signing it would turn a changed or removed record into valid-looking
CloudTrail files.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from fleetward.audit.digest import BUCKET, signing_string
from fleetward.audit.record import iso
from fleetward.audit.validate import Report, validate_trail
from fleetward.crypto import signing
from fleetward.storage.db import Database

__all__ = ["TrailInvalid", "export_trail"]

UNKNOWN_ACCOUNT = "000000000000"


class TrailInvalid(Exception):
    """The trail did not validate; nothing was exported."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"trail is INVALID: {len(report.findings)} findings")
        self.report = report


def _stamp(t: float, fmt: str) -> str:
    return datetime.fromtimestamp(t, UTC).strftime(fmt)


def _write(out: Path, key: str, data: bytes) -> None:
    path = out / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0))


async def export_trail(
    db: Database,
    out: Path,
    *,
    fingerprint: str,
    private_pem: bytes,
    now: float,
    retention_days: int | None = None,
    trail: str = "fleetward",
) -> dict[str, int]:
    """Write the files; returns counts (log files, digest files, records).

    Raises TrailInvalid, before writing anything, when ``validate_trail``
    has findings.
    """
    report = await validate_trail(db, now=now, retention_days=retention_days)
    if not report.ok:
        raise TrailInvalid(report)
    digests = await db.fetchall("SELECT id, period_start, period_end, body FROM audit_digests ORDER BY id")
    counts = {"logFiles": 0, "digestFiles": 0, "records": 0}
    chains: dict[tuple[str, str], tuple[str, str, str]] = {}  # (acct, region) -> (object, hash, signature)
    for d in digests:
        body = orjson.loads(str(d["body"]))
        seqs = [int(e[0]) for e in body.get("records", [])]
        groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for i in range(0, len(seqs), 500):
            chunk = seqs[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            for r in await db.fetchall(
                f"SELECT seq, account, region, event_time, record FROM audit_events WHERE seq IN ({marks}) ORDER BY seq",
                *chunk,
            ):
                groups[(str(r["account"]) or UNKNOWN_ACCOUNT, str(r["region"]))].append(r)
        for key in groups:
            chains.setdefault(key, ("", "", ""))
        start, end = float(d["period_start"]), float(d["period_end"])
        for (acct, region), prev in sorted(chains.items()):
            rows = groups.get((acct, region), [])
            log_files = []
            if rows:
                content = b'{"Records":[' + b",".join(str(r["record"]).encode() for r in rows) + b"]}"
                obj = (
                    f"AWSLogs/{acct}/CloudTrail/{region}/{_stamp(end, '%Y/%m/%d')}/"
                    f"{acct}_CloudTrail_{region}_{_stamp(end, '%Y%m%dT%H%MZ')}_{secrets.token_hex(8)}.json.gz"
                )
                _write(out, obj, content)
                times = [float(r["event_time"]) for r in rows]
                log_files.append(
                    {
                        "s3Bucket": BUCKET,
                        "s3Object": obj,
                        "hashValue": hashlib.sha256(content).hexdigest(),
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": iso(max(times)),
                        "oldestEventTime": iso(min(times)),
                    }
                )
                counts["logFiles"] += 1
                counts["records"] += len(rows)
            dobj = (
                f"AWSLogs/{acct}/CloudTrail-Digest/{region}/{_stamp(end, '%Y/%m/%d')}/"
                f"{acct}_CloudTrail-Digest_{region}_{trail}_{region}_{_stamp(end, '%Y%m%dT%H%M%SZ')}.json.gz"
            )
            prev_obj, prev_hash, prev_sig = prev
            digest = {
                "awsAccountId": acct,
                "digestStartTime": iso(start),
                "digestEndTime": iso(end),
                "digestS3Bucket": BUCKET,
                "digestS3Object": dobj,
                "newestEventTime": log_files[0]["newestEventTime"] if log_files else None,
                "oldestEventTime": log_files[0]["oldestEventTime"] if log_files else None,
                "previousDigestS3Bucket": BUCKET if prev_obj else None,
                "previousDigestS3Object": prev_obj or None,
                "previousDigestHashValue": prev_hash or None,
                "previousDigestHashAlgorithm": "SHA-256",
                "previousDigestSignature": prev_sig or None,
                "digestPublicKeyFingerprint": fingerprint,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "logFiles": log_files,
            }
            data = orjson.dumps(digest)
            h = hashlib.sha256(data).hexdigest()
            sig = signing.sign(private_pem, signing_string(iso(end), dobj, h, prev_sig or None)).hex()
            _write(out, dobj, data)
            meta = {"signature": sig, "signature-algorithm": "SHA256withRSA"}
            (out / (dobj + ".metadata.json")).write_bytes(orjson.dumps(meta))
            chains[(acct, region)] = (dobj, h, sig)
            counts["digestFiles"] += 1
    keys = await db.fetchall(
        "SELECT fingerprint, public_der, created, retired FROM audit_signing_keys ORDER BY created"
    )
    (out / "public-keys.json").write_bytes(
        orjson.dumps(
            [
                {
                    "Fingerprint": k["fingerprint"],
                    "Value": bytes(k["public_der"]).hex(),
                    "ValidityStartTime": iso(float(k["created"])),
                    "ValidityEndTime": iso(float(k["retired"])) if k["retired"] is not None else None,
                }
                for k in keys
            ],
            option=orjson.OPT_INDENT_2,
        )
    )
    return counts
