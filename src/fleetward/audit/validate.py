"""``trail validate``: check the digest chain and every record against it.

Findings name exactly what differs: a digest whose body or signature does
not verify, a digest missing from the chain, a record changed (hash or
searchable columns), removed (listed in a digest, gone, and not yet due
for retention) or inserted (in no digest although older than the chain's
end, or claiming a digest that does not list it). A record is also changed
when a column LookupEvents searches on (user name, access key, event name,
resources...) no longer matches the record. Records newer than the
last digest are reported as the unverified tail, not as findings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from fleetward.audit.digest import GRACE_SECONDS, body_retention, signing_string
from fleetward.audit.record import iso
from fleetward.crypto import signing
from fleetward.crypto.errors import CryptoError
from fleetward.storage.db import Database

__all__ = ["Finding", "Report", "validate_trail"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # record-changed | record-removed | record-inserted | digest-changed | digest-removed
    message: str
    seq: int | None = None
    event_id: str | None = None
    digest_id: int | None = None


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    digests: int = 0
    records_verified: int = 0
    records_expired: int = 0
    tail: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, message: str, **kw: Any) -> None:
        self.findings.append(Finding(kind, message, **kw))


_COLUMNS = (
    ("event_id", "eventID"),
    ("event_name", "eventName"),
    ("event_source", "eventSource"),
    ("account", "recipientAccountId"),
    ("region", "awsRegion"),
    ("error_code", "errorCode"),
)


def _username(ident: dict[str, Any]) -> str | None:
    """The user name LookupEvents shows for ``userIdentity`` (as ``record.build_record`` sets it)."""
    kind = ident.get("type")
    if kind == "IAMUser":
        return ident.get("userName") or None
    if kind == "Root":
        return "root"
    if kind == "AssumedRole":  # the session name: arn:aws:sts::<acct>:assumed-role/<role>/<session>
        return str(ident.get("arn") or "").rsplit("/", 1)[-1] or None
    return None


def _resource_set(items: Any) -> list[tuple[str, str]]:
    return sorted((str(r.get("type") or ""), str(r.get("ARN") or "")) for r in items or ())


def _column_mismatch(row: Any, text: str, resources: list[tuple[str, str]]) -> str | None:
    """What differs between the searchable columns of ``row`` and the record they index."""
    try:
        rec = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "record is not valid JSON"
    for col, key in _COLUMNS:
        if (row[col] or None) != (rec.get(key) or None):
            return f"column {col} differs from the record's {key}"
    if bool(row["read_only"]) != bool(rec.get("readOnly")):
        return "column read_only differs from the record's readOnly"
    if iso(float(row["event_time"])) != rec.get("eventTime"):
        return "column event_time differs from the record's eventTime"
    ident = rec.get("userIdentity") or {}
    if (row["access_key_id"] or None) != (ident.get("accessKeyId") or None):
        return "column access_key_id differs from the record's userIdentity.accessKeyId"
    if (row["principal_arn"] or None) != (ident.get("arn") or None) and ident.get("type") != "AWSService":
        return "column principal_arn differs from the record's userIdentity.arn"
    if (row["username"] or None) != _username(ident):
        return "column username differs from the record's userIdentity"
    if resources != _resource_set(rec.get("resources")):
        return "resource rows differ from the record's resources"
    return None


async def validate_trail(
    db: Database,
    *,
    now: float,
    retention_days: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> Report:
    """Verify the whole digest chain and the records in ``[start, end)`` (all by default).

    A record listed in a digest and gone is expired when it is older than
    the retention: ``retention_days``, or by default the shortest retention
    signed by that digest or any later one (what the server may have pruned
    it under since); otherwise it was removed.
    """
    rep = Report()
    keys = {
        str(r["fingerprint"]): bytes(r["public_der"])
        for r in await db.fetchall("SELECT fingerprint, public_der FROM audit_signing_keys")
    }
    digests = await db.fetchall(
        "SELECT id, prev_id, period_end, body, hash, signature FROM audit_digests ORDER BY id"
    )
    listed: dict[int, tuple[str, str, float, int]] = {}
    retention: dict[int, int] = {}  # digest id -> the retention it signs
    prev: Any = None
    prev_body_hash: str | None = None
    last_end = 0.0
    for d in digests:
        did = int(d["id"])
        text = str(d["body"])
        body_hash = hashlib.sha256(text.encode()).hexdigest()
        rep.digests += 1
        expected_prev = int(prev["id"]) if prev is not None else 0
        if prev is None and did != 1:
            rep.add(
                "digest-removed",
                f"digests 1..{did - 1} are missing (chain starts at digest {did})",
                digest_id=did,
            )
        elif prev is not None and did != expected_prev + 1:
            rep.add(
                "digest-removed",
                f"digest(s) {expected_prev + 1}..{did - 1} missing between {expected_prev} and {did}",
                digest_id=did,
            )
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            rep.add("digest-changed", f"digest {did}: body is not valid JSON", digest_id=did)
            prev, prev_body_hash = d, body_hash
            continue
        problems = []
        if body_hash != d["hash"]:
            problems.append("body hash differs from the stored hash")
        if body.get("digestId") != did:
            problems.append(f"body names digest {body.get('digestId')}")
        pub = keys.get(str(body.get("digestPublicKeyFingerprint")))
        if pub is None:
            problems.append(f"unknown signing key {body.get('digestPublicKeyFingerprint')}")
        else:
            data = signing_string(
                str(body.get("digestEndTime")),
                str(body.get("digestS3Object")),
                body_hash,
                body.get("previousDigestSignature"),
            )
            try:
                good = signing.verify(pub, data, bytes.fromhex(str(d["signature"])))
            except (CryptoError, ValueError):
                good = False
            if not good:
                problems.append("signature does not verify")
        if prev is not None and did == expected_prev + 1:
            if body.get("previousDigestHashValue") != prev_body_hash:
                problems.append(f"previousDigestHashValue does not match digest {expected_prev}")
            if body.get("previousDigestSignature") != prev["signature"]:
                problems.append(f"previousDigestSignature does not match digest {expected_prev}")
        if problems:
            rep.add("digest-changed", f"digest {did} changed: " + "; ".join(problems), digest_id=did)
        for seq, eid, h, t in body.get("records", []):
            listed[int(seq)] = (str(eid), str(h), float(t), did)
        retention[did] = body_retention(body)
        last_end = max(last_end, float(body.get("digestEndEpoch") or d["period_end"]))
        prev, prev_body_hash = d, body_hash

    # The shortest retention in force since each digest was written.
    since: dict[int, int] = {}
    shortest: int | None = None
    for did in sorted(retention, reverse=True):
        shortest = retention[did] if shortest is None else min(shortest, retention[did])
        since[did] = shortest
    lo = start if start is not None else float("-inf")
    hi = end if end is not None else float("inf")
    rows = await db.fetchall(
        "SELECT seq, event_id, event_time, event_name, event_source, account, region, error_code, read_only,"
        " access_key_id, principal_arn, username, digest_id, record FROM audit_events ORDER BY seq"
    )
    # The rows LookupEvents searches by ResourceName / ResourceType.
    resources: dict[str, list[dict[str, str]]] = {}
    for res in await db.fetchall("SELECT event_id, resource_type, resource_name FROM audit_resources"):
        resources.setdefault(str(res["event_id"]), []).append(
            {"type": res["resource_type"], "ARN": res["resource_name"]}
        )
    present = {int(d["id"]) for d in digests}
    for r in rows:
        seq = int(r["seq"])
        t = float(r["event_time"])
        entry = listed.pop(seq, None)
        if not lo <= t < hi:
            continue
        text = str(r["record"])
        eid = str(r["event_id"])
        if entry is None:
            claimed = r["digest_id"]
            if claimed is not None and int(claimed) not in present:
                rep.add(
                    "digest-removed",
                    f"digest {claimed} is missing (record seq {seq} names it)",
                    digest_id=int(claimed),
                    seq=seq,
                    event_id=eid,
                )
            elif claimed is not None:
                rep.add(
                    "record-inserted",
                    f"record seq {seq} (eventID {eid}) inserted: digest {claimed} does not list it",
                    seq=seq,
                    event_id=eid,
                )
            elif t < last_end - GRACE_SECONDS * 5:
                rep.add(
                    "record-inserted",
                    f"record seq {seq} (eventID {eid}) inserted: older than the last digest but in none",
                    seq=seq,
                    event_id=eid,
                )
            else:
                rep.tail += 1
            continue
        want_eid, want_hash, _, did = entry
        if eid != want_eid or hashlib.sha256(text.encode()).hexdigest() != want_hash:
            rep.add(
                "record-changed",
                f"record seq {seq} (eventID {want_eid}) changed: hash differs from digest {did}",
                seq=seq,
                event_id=want_eid,
                digest_id=did,
            )
            continue
        bad = _column_mismatch(r, text, _resource_set(resources.get(eid)))
        if bad:
            rep.add(
                "record-changed",
                f"record seq {seq} (eventID {eid}) changed: {bad}",
                seq=seq,
                event_id=eid,
                digest_id=did,
            )
            continue
        rep.records_verified += 1
    for seq, (eid, _, t, did) in sorted(listed.items()):
        if not lo <= t < hi:
            continue
        days = retention_days if retention_days is not None else since.get(did, 90)
        if t < now - days * 86400:
            rep.records_expired += 1
        else:
            rep.add(
                "record-removed",
                f"record seq {seq} (eventID {eid}) removed: listed in digest {did}",
                seq=seq,
                event_id=eid,
                digest_id=did,
            )
    return rep
