"""CloudTrail LookupEvents: the records of the caller's account in the request's Region, newest first."""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import UTC, datetime
from typing import Any

import orjson

from fleetward.protocol.errors import AWSError
from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext

__all__ = ["lookup_events"]


class InvalidLookupAttributesException(AWSError):
    pass


class InvalidTimeRangeException(AWSError):
    default_message = "Start time must be earlier than end time."


class InvalidNextTokenException(AWSError):
    default_message = "Invalid NextToken."


_COLUMN = {
    "EventId": "e.event_id = ?",
    "EventName": "e.event_name = ?",
    "ReadOnly": "e.read_only = ?",
    "Username": "e.username = ?",
    "EventSource": "e.event_source = ?",
    "AccessKeyId": "e.access_key_id = ?",
    "ResourceName": "e.event_id IN (SELECT event_id FROM audit_resources WHERE resource_name = ?)",
    "ResourceType": "e.event_id IN (SELECT event_id FROM audit_resources WHERE resource_type = ?)",
}
_TOKEN_AAD = b"fleetward:cloudtrail:LookupEvents:"


def _epoch(v: datetime | None) -> float | None:
    return v.timestamp() if v is not None else None


def _token(ctx: CallContext, query: bytes, pos: list[Any]) -> str:
    blob = ctx.env.keyring.wrap(orjson.dumps(pos), _TOKEN_AAD + query)
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def _position(ctx: CallContext, query: bytes, token: str) -> tuple[float, int]:
    """The page position in ``token``; it only opens for the same query."""
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        t, seq = orjson.loads(ctx.env.keyring.unwrap(blob, _TOKEN_AAD + query))
        return float(t), int(seq)
    except Exception:
        raise InvalidNextTokenException() from None


@operation("cloudtrail", "LookupEvents", read_only=True)
async def lookup_events(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Records of the caller's account in the request's Region (LookupEvents is
    regional) matching one lookup attribute and a time range, newest first.

    Raises InvalidLookupAttributesException, InvalidTimeRangeException,
    InvalidNextTokenException."""
    attrs = req.get("LookupAttributes") or []
    if len(attrs) > 1:
        raise InvalidLookupAttributesException("You cannot specify more than one lookup attribute.")
    start, end = _epoch(req.get("StartTime")), _epoch(req.get("EndTime"))
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException()
    if req.get("EventCategory") == "insight":
        return {"Events": []}
    limit = int(req.get("MaxResults") or 50)
    where = ["e.account = ?", "e.region = ?"]
    args: list[Any] = [ctx.account, ctx.region]
    for a in attrs:
        key, value = a["AttributeKey"], a["AttributeValue"]
        where.append(_COLUMN[key])
        if key == "ReadOnly":
            if value not in ("true", "false"):
                raise InvalidLookupAttributesException("ReadOnly must be true or false.")
            args.append(1 if value == "true" else 0)
        else:
            args.append(value)
    # Event times are whole seconds, as the records' eventTime (the stored
    # time's fraction only orders events): an event at 12:00:00.7 is at
    # 12:00:00, so EndTime 12:00:00 includes it.
    if start is not None:
        where.append("e.event_time >= ?")
        args.append(float(math.ceil(start)))
    if end is not None:
        where.append("e.event_time < ?")
        args.append(float(math.floor(end) + 1))
    query = hashlib.sha256(
        orjson.dumps([ctx.account, ctx.region, attrs, start, end, req.get("EventCategory")])
    ).digest()
    token = req.get("NextToken")
    if token:
        t, seq = _position(ctx, query, token)
        where.append("(e.event_time < ? OR (e.event_time = ? AND e.seq < ?))")
        args += [t, t, seq]
    rows = await ctx.conn.fetchall(
        "SELECT e.seq, e.event_time, e.event_id, e.event_name, e.read_only, e.access_key_id, e.event_source,"
        " e.username, e.record FROM audit_events e WHERE "
        + " AND ".join(where)
        + " ORDER BY e.event_time DESC, e.seq DESC LIMIT ?",
        *args,
        limit + 1,
    )
    page = rows[:limit]
    resources: dict[str, list[dict[str, str]]] = {}
    if page:
        marks = ", ".join("?" for _ in page)
        for r in await ctx.conn.fetchall(
            f"SELECT event_id, resource_type, resource_name FROM audit_resources WHERE event_id IN ({marks})",
            *[p["event_id"] for p in page],
        ):
            item = {"ResourceName": r["resource_name"]}
            if r["resource_type"]:
                item["ResourceType"] = r["resource_type"]
            resources.setdefault(r["event_id"], []).append(item)
    events = []
    for r in page:
        ev: dict[str, Any] = {
            "EventId": r["event_id"],
            "EventName": r["event_name"],
            "ReadOnly": "true" if r["read_only"] else "false",
            "EventTime": datetime.fromtimestamp(int(r["event_time"]), UTC),
            "EventSource": r["event_source"],
            "Resources": resources.get(r["event_id"], []),
            "CloudTrailEvent": r["record"],
        }
        if r["access_key_id"]:
            ev["AccessKeyId"] = r["access_key_id"]
        if r["username"]:
            ev["Username"] = r["username"]
        events.append(ev)
    out: dict[str, Any] = {"Events": events}
    if len(rows) > limit:
        last = page[-1]
        out["NextToken"] = _token(ctx, query, [float(last["event_time"]), int(last["seq"])])
    return out
