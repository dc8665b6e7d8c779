"""The digest chain: tamper evidence for the audit trail, as CloudTrail's.

One global chain for the whole installation. Records are rows with a global
sequence (``audit_events.seq``); a digest covers every record not yet
covered whose ``event_time`` is before the digest's end, lists each one as
``[seq, eventID, SHA-256 of the stored record text, event time]``, carries
the previous digest's hash and signature, and is signed SHA256withRSA.
What is signed is CloudTrail's string::

    digestEndTime \\n bucket/object \\n hex(SHA-256(digest body)) \\n previousDigestSignature

Exactly one writer extends the chain: the close runs in one write
transaction, under ``pg_try_advisory_xact_lock`` on PostgreSQL (SQLite's
write lock is global), and ``audit_digests.prev_id`` is unique, so a fork
cannot commit. Records that commit late (a transaction open across the
period end) are simply covered by the next digest.

Each digest also signs the retention in force (``retentionDays``): records
older than that may be gone, and ``trail validate`` tells records removed by
retention from records removed by hand with it, not with a guess.

Signing keys are RSA-2048, their private PEM wrapped by the root keyring
(AAD binds the fingerprint), rotated every ``rotation_days``; old public keys
stay for validation and ListPublicKeys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from fleetward.audit.record import iso
from fleetward.crypto import signing
from fleetward.storage.db import Conn, Database

__all__ = [
    "BUCKET",
    "DEFAULT_RETENTION_DAYS",
    "GRACE_SECONDS",
    "LOCK_ID",
    "PERIOD_SECONDS",
    "ClosedDigest",
    "body_retention",
    "close_period",
    "current_signing_key",
    "digest_object",
    "due_end",
    "key_aad",
    "open_tail",
    "prune",
    "signed_retention",
    "signing_string",
]

PERIOD_SECONDS = 3600
# A period is closed this long after its end, so transactions that started
# before the end have committed (late ones go to the next digest anyway).
GRACE_SECONDS = 60
LOCK_ID = 0x6677_6175_6469_74  # "fwaudit"
BUCKET = "fleetward-trail"
DEFAULT_ROTATION_DAYS = 30
DEFAULT_RETENTION_DAYS = 90


def key_aad(fingerprint: str) -> bytes:
    return b"fleetward:audit-signing-key:" + fingerprint.encode()


def digest_object(digest_id: int) -> str:
    return f"digest/{digest_id:012d}.json"


def signing_string(end_time: str, obj: str, body_hash: str, previous_signature: str | None) -> bytes:
    """CloudTrail's data-to-sign for a digest."""
    return f"{end_time}\n{BUCKET}/{obj}\n{body_hash}\n{previous_signature or 'null'}".encode()


@dataclass(frozen=True, slots=True)
class ClosedDigest:
    id: int
    period_start: float
    period_end: float
    record_count: int


async def current_signing_key(
    conn: Conn, keyring: Any, now: float, rotation_days: int = DEFAULT_ROTATION_DAYS
) -> tuple[str, bytes]:
    """The signing key in force (fingerprint, private PEM), rotating it when due.

    Runs inside the caller's write transaction.
    """
    row = await conn.fetchone(
        "SELECT fingerprint, private_wrapped, created FROM audit_signing_keys WHERE retired IS NULL ORDER BY created DESC LIMIT 1"
    )
    if row is not None and float(row["created"]) > now - rotation_days * 86400:
        fp = str(row["fingerprint"])
        return fp, keyring.unwrap(bytes(row["private_wrapped"]), key_aad(fp))
    if row is not None:
        await conn.execute(
            "UPDATE audit_signing_keys SET retired = ? WHERE fingerprint = ?", float(now), row["fingerprint"]
        )
    pem = signing.new_rsa_private_key_pem()
    der = signing.public_key_der(pem)
    fp = signing.fingerprint(der)
    await conn.execute(
        "INSERT INTO audit_signing_keys (fingerprint, public_der, private_wrapped, created) VALUES (?, ?, ?, ?)",
        fp,
        der,
        keyring.wrap(pem, key_aad(fp)),
        float(now),
    )
    return fp, pem


async def close_period(
    db: Database,
    keyring: Any,
    *,
    end: float,
    now: float,
    rotation_days: int = DEFAULT_ROTATION_DAYS,
    retention_days: int | None = None,
) -> ClosedDigest | None:
    """Write the digest of every uncovered record with ``event_time < end``.

    ``retention_days`` is the retention in force (the server's setting);
    None keeps the previous digest's (a CLI closing the period does not
    know the server's). Returns None when another writer holds the lock or
    ``end`` is not after the last digest's end. The digest is written even
    when it covers no record, so the chain has no silent gaps.
    """
    async with db.write() as conn:
        if db.dialect == "postgresql":
            got = await conn.fetchone("SELECT pg_try_advisory_xact_lock(?)", LOCK_ID)
            if got is None or not got[0]:
                return None
        last = await conn.fetchone(
            "SELECT id, period_end, body, signature FROM audit_digests ORDER BY id DESC LIMIT 1"
        )
        if last is not None:
            start = float(last["period_end"])
            if end <= start:
                return None
            new_id = int(last["id"]) + 1
            prev_hash: str | None = hashlib.sha256(str(last["body"]).encode()).hexdigest()
            prev_sig: str | None = str(last["signature"])
            prev_id: int | None = int(last["id"])
            if retention_days is None:
                retention_days = body_retention(orjson.loads(str(last["body"])))
        else:
            first = await conn.fetchone("SELECT MIN(event_time) FROM audit_events WHERE digest_id IS NULL")
            t0 = float(first[0]) if first is not None and first[0] is not None else end
            start = min(t0 - t0 % PERIOD_SECONDS, end)
            new_id, prev_hash, prev_sig, prev_id = 1, None, None, None
        rows = await conn.fetchall(
            "UPDATE audit_events SET digest_id = ? WHERE digest_id IS NULL AND event_time < ?"
            " RETURNING seq, event_id, event_time, record",
            new_id,
            float(end),
        )
        entries: list[tuple[int, str, str, float]] = sorted(
            (int(r[0]), str(r[1]), hashlib.sha256(str(r[3]).encode()).hexdigest(), float(r[2])) for r in rows
        )
        fp, pem = await current_signing_key(conn, keyring, now, rotation_days)
        times = [e[3] for e in entries]
        body: dict[str, Any] = {
            "digestId": new_id,
            "previousDigestId": prev_id,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestStartEpoch": start,
            "digestEndEpoch": end,
            "digestS3Bucket": BUCKET,
            "digestS3Object": digest_object(new_id),
            "previousDigestS3Bucket": BUCKET if prev_id else None,
            "previousDigestS3Object": digest_object(prev_id) if prev_id else None,
            "previousDigestHashValue": prev_hash,
            "previousDigestHashAlgorithm": "SHA-256",
            "previousDigestSignature": prev_sig,
            "digestPublicKeyFingerprint": fp,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": iso(max(times)) if times else None,
            "oldestEventTime": iso(min(times)) if times else None,
            "recordCount": len(entries),
            "records": entries,
            "retentionDays": DEFAULT_RETENTION_DAYS if retention_days is None else int(retention_days),
        }
        text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
        body_hash = hashlib.sha256(text.encode()).hexdigest()
        sig = signing.sign(pem, signing_string(iso(end), digest_object(new_id), body_hash, prev_sig)).hex()
        await conn.execute(
            "INSERT INTO audit_digests (id, prev_id, period_start, period_end, record_count, fingerprint, body, hash,"
            " signature, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            new_id,
            prev_id,
            float(start),
            float(end),
            len(entries),
            fp,
            text,
            body_hash,
            sig,
            float(now),
        )
    return ClosedDigest(new_id, start, end, len(entries))


def body_retention(body: Any) -> int:
    """The retention a digest body signs (older digests, without one: the default)."""
    value = body.get("retentionDays") if isinstance(body, dict) else None
    return value if isinstance(value, int) and value > 0 else DEFAULT_RETENTION_DAYS


def due_end(now: float) -> float:
    """The end of the newest hour that may be closed at ``now``."""
    t = now - GRACE_SECONDS
    return t - t % PERIOD_SECONDS


async def open_tail(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM audit_events WHERE digest_id IS NULL")
    return int(row[0]) if row else 0


async def signed_retention(db: Database) -> int | None:
    """The retention the newest digest signs (None before the first digest)."""
    row = await db.fetchone("SELECT body FROM audit_digests ORDER BY id DESC LIMIT 1")
    return body_retention(orjson.loads(str(row[0]))) if row is not None else None


async def prune(db: Database, cutoff: float) -> int:
    """Delete records older than ``cutoff`` that a digest already covers (digests stay)."""
    async with db.write() as conn:
        await conn.execute(
            "DELETE FROM audit_resources WHERE event_id IN"
            " (SELECT event_id FROM audit_events WHERE digest_id IS NOT NULL AND event_time < ?)",
            float(cutoff),
        )
        n: int = await conn.execute(
            "DELETE FROM audit_events WHERE digest_id IS NOT NULL AND event_time < ?", float(cutoff)
        )
        return n
