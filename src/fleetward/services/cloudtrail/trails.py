"""The trail management calls users expect answered: one always-on trail per account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleetward.audit.digest import BUCKET, DEFAULT_ROTATION_DAYS
from fleetward.protocol.errors import AWSError
from fleetward.protocol.registry import operation
from fleetward.services.cloudtrail.events import InvalidTimeRangeException
from fleetward.services.context import CallContext

__all__ = ["TRAIL_NAME", "describe_trails", "get_trail_status", "list_public_keys"]

TRAIL_NAME = "fleetward"


class TrailNotFoundException(AWSError):
    pass


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _trail_arn(ctx: CallContext) -> str:
    return f"arn:aws:cloudtrail:{ctx.env.region}:{ctx.account}:trail/{TRAIL_NAME}"


def _trail(ctx: CallContext) -> dict[str, Any]:
    return {
        "Name": TRAIL_NAME,
        "S3BucketName": BUCKET,
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "HomeRegion": ctx.env.region,
        "TrailARN": _trail_arn(ctx),
        "LogFileValidationEnabled": True,
        "HasCustomEventSelectors": False,
        "HasInsightSelectors": False,
        "IsOrganizationTrail": False,
    }


@operation("cloudtrail", "DescribeTrails", read_only=True)
async def describe_trails(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    names = req.get("trailNameList") or []
    if names and not ({TRAIL_NAME, _trail_arn(ctx)} & set(names)):
        return {"trailList": []}
    return {"trailList": [_trail(ctx)]}


@operation("cloudtrail", "GetTrailStatus", read_only=True)
async def get_trail_status(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Raises TrailNotFoundException for any trail but ``fleetward``."""
    name = req["Name"]
    if name not in (TRAIL_NAME, _trail_arn(ctx)):
        raise TrailNotFoundException(f"Unknown trail: {name} for the user: {ctx.account}")
    out: dict[str, Any] = {"IsLogging": bool(ctx.env.audit.enabled)}
    first = await ctx.conn.fetchone("SELECT MIN(created) FROM accounts WHERE id = ?", ctx.account)
    if first is not None and first[0] is not None:
        out["StartLoggingTime"] = out["TimeLoggingStarted"] = _dt(float(first[0]))
    last = await ctx.conn.fetchone("SELECT MAX(event_time) FROM audit_events WHERE account = ?", ctx.account)
    if last is not None and last[0] is not None:
        out["LatestDeliveryTime"] = _dt(float(last[0]))
        out["LatestDeliveryAttemptSucceeded"] = "true"
    dig = await ctx.conn.fetchone("SELECT MAX(created) FROM audit_digests")
    if dig is not None and dig[0] is not None:
        out["LatestDigestDeliveryTime"] = _dt(float(dig[0]))
    return out


@operation("cloudtrail", "ListPublicKeys", read_only=True)
async def list_public_keys(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Digest signing keys (DER) whose validity overlaps [StartTime, EndTime].

    Either time defaults to now, as AWS documents: with neither, the key in
    force now. Raises InvalidTimeRangeException when the start is after the end.
    """
    start = req["StartTime"].timestamp() if req.get("StartTime") else ctx.now
    end = req["EndTime"].timestamp() if req.get("EndTime") else ctx.now
    if start > end:
        raise InvalidTimeRangeException()
    rotation = int(getattr(ctx.env.settings, "audit_key_rotation_days", DEFAULT_ROTATION_DAYS))
    rows = await ctx.conn.fetchall(
        "SELECT fingerprint, public_der, created, retired FROM audit_signing_keys ORDER BY created"
    )
    keys = []
    for r in rows:
        begin = float(r["created"])
        until = float(r["retired"]) if r["retired"] is not None else begin + rotation * 86400
        if until < start or begin > end:
            continue
        keys.append(
            {
                "Value": bytes(r["public_der"]),
                "ValidityStartTime": _dt(begin),
                "ValidityEndTime": _dt(until),
                "Fingerprint": r["fingerprint"],
            }
        )
    return {"PublicKeyList": keys}
