"""``fleetward trail validate|digest|export`` and ``fleetward iam suggest-policy``.

They work on the database directly (``--data-dir`` / ``--database-url``),
with or without a server running. Closing a period and exporting sign with
the trail key, which needs the root of trust: key-file seal only.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = ["register"]


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=".fleetward", help="data directory (default ./.fleetward)")
    p.add_argument("--database-url", help="database URL (default: the data directory's SQLite file)")


def _url(args: argparse.Namespace) -> str:
    return str(args.database_url or f"sqlite:///{Path(args.data_dir).resolve() / 'fleetward.db'}")


def _time(v: str) -> float:
    """An ISO time (UTC unless it names a zone)."""
    t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _since(v: str) -> float:
    m = re.fullmatch(r"(\d+)([smhd])", v)
    if m is None:
        return _time(v)
    n = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return datetime.now(UTC).timestamp() - n


def register(sub: Any) -> None:
    trail = sub.add_parser(
        "trail", help="audit trail: validate, digest, export", description="Audit trail tools."
    )
    tsub = trail.add_subparsers(dest="trail_command", required=True)
    v = tsub.add_parser("validate", help="verify the digest chain and every record")
    _db_args(v)
    v.add_argument("--start", help="only records at or after this ISO time")
    v.add_argument("--end", help="only records before this ISO time")
    v.add_argument(
        "--retention-days",
        type=int,
        help="records older than this may be gone (default: the retention the digests sign)",
    )
    v.add_argument(
        "--close-open-hour",
        action="store_true",
        help="first write the digest of the open period (key-file seal)",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=_validate)
    d = tsub.add_parser("digest", help="close the open period now: digest every record not yet covered")
    _db_args(d)
    d.set_defaults(func=_digest)
    e = tsub.add_parser("export", help="write CloudTrail-format log and digest files")
    _db_args(e)
    e.add_argument("--out", required=True, help="output directory")
    e.add_argument("--close-open-hour", action="store_true", help="first write the digest of the open period")
    e.add_argument(
        "--retention-days",
        type=int,
        help="records older than this may be gone (default: the retention the digests sign)",
    )
    e.set_defaults(func=_export)
    if "iam" not in getattr(sub, "choices", {}):
        iam = sub.add_parser("iam", help="IAM tools")
        isub = iam.add_subparsers(dest="iam_command", required=True)
    else:  # another module registered "iam": add ours to its sub-commands
        isub = next(a for a in sub.choices["iam"]._actions if isinstance(a, argparse._SubParsersAction))
    s = isub.add_parser("suggest-policy", help="the smallest policy covering a principal's recorded activity")
    _db_args(s)
    s.add_argument("--principal", required=True, help="user, role or session ARN")
    s.add_argument("--since", default="30d", help="look back this far (e.g. 30d, 12h) or from an ISO time")
    s.set_defaults(func=_suggest)


async def _open(args: argparse.Namespace) -> Any:
    from fleetward.storage import migrate
    from fleetward.storage.db import open_database

    url = _url(args)
    await asyncio.to_thread(migrate.upgrade, url)
    return await open_database(url)


def _keyring(args: argparse.Namespace) -> Any:
    from fleetward.crypto import seal

    data_dir = Path(args.data_dir)
    if not seal.is_initialized(data_dir):
        raise SystemExit(f"fleetward: {data_dir} is not initialised")
    if seal.seal_mode(data_dir) != seal.SealMode.KEYFILE:
        raise SystemExit(
            "fleetward: signing needs the key-file seal (a passphrase-sealed trail is digested by the server)"
        )
    return seal.unseal(data_dir)


async def _close(args: argparse.Namespace, db: Any) -> Any:
    from fleetward.audit.digest import close_period

    now = datetime.now(UTC).timestamp()
    return await close_period(db, _keyring(args), end=now, now=now)


def _digest(args: argparse.Namespace) -> int:
    async def run() -> int:
        db = await _open(args)
        try:
            d = await _close(args, db)
        finally:
            await db.close()
        if d is None:
            print("nothing to close (another writer holds the lock, or the period is already closed)")
            return 1
        print(f"digest {d.id}: {d.record_count} records")
        return 0

    return asyncio.run(run())


def _validate(args: argparse.Namespace) -> int:
    from fleetward.audit.validate import validate_trail

    async def run() -> int:
        db = await _open(args)
        try:
            if args.close_open_hour:
                await _close(args, db)
            rep = await validate_trail(
                db,
                now=datetime.now(UTC).timestamp(),
                retention_days=args.retention_days,
                start=_time(args.start) if args.start else None,
                end=_time(args.end) if args.end else None,
            )
        finally:
            await db.close()
        if args.json:
            print(
                orjson.dumps(
                    {
                        "ok": rep.ok,
                        "digests": rep.digests,
                        "recordsVerified": rep.records_verified,
                        "recordsExpired": rep.records_expired,
                        "unverifiedTail": rep.tail,
                        "findings": [
                            {
                                "kind": f.kind,
                                "message": f.message,
                                "seq": f.seq,
                                "eventID": f.event_id,
                                "digestId": f.digest_id,
                            }
                            for f in rep.findings
                        ],
                    },
                    option=orjson.OPT_INDENT_2,
                ).decode()
            )
        else:
            for f in rep.findings:
                print(f"INVALID {f.kind}: {f.message}")
            print(
                f"{rep.digests} digests, {rep.records_verified} records verified, {rep.records_expired} expired by retention,"
                f" {rep.tail} records not yet digested (present, unverified)"
            )
            print("trail is VALID" if rep.ok else f"trail is INVALID: {len(rep.findings)} findings")
        return 0 if rep.ok else 1

    return asyncio.run(run())


def _export(args: argparse.Namespace) -> int:
    from fleetward.audit.digest import current_signing_key
    from fleetward.audit.export import TrailInvalid, export_trail

    async def run() -> int:
        db = await _open(args)
        try:
            if args.close_open_hour:
                await _close(args, db)
            now = datetime.now(UTC).timestamp()
            async with db.write() as conn:
                fp, pem = await current_signing_key(conn, _keyring(args), now)
            counts = await export_trail(
                db,
                Path(args.out),
                fingerprint=fp,
                private_pem=pem,
                now=now,
                retention_days=args.retention_days,
            )
        except TrailInvalid as e:
            for f in e.report.findings:
                print(f"INVALID {f.kind}: {f.message}")
            print(f"fleetward: {e}; nothing exported (see `fleetward trail validate`)", file=sys.stderr)
            return 1
        finally:
            await db.close()
        print(
            f"{counts['records']} records in {counts['logFiles']} log files, {counts['digestFiles']} digest files under {args.out}"
        )
        return 0

    return asyncio.run(run())


def _suggest(args: argparse.Namespace) -> int:
    from fleetward.audit.suggest import suggest_policy

    async def run() -> int:
        db = await _open(args)
        try:
            policy = await suggest_policy(db, args.principal, _since(args.since))
        finally:
            await db.close()
        print(orjson.dumps(policy, option=orjson.OPT_INDENT_2).decode())
        if not policy["Statement"]:
            print(f"fleetward: no successful calls by {args.principal} since {args.since}", file=sys.stderr)
            return 1
        return 0

    return asyncio.run(run())
