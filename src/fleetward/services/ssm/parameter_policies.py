"""Parameter policies (Expiration, ExpirationNotification, NoChangeNotification)
and the background worker that enforces them.

Policies are allowed on Advanced parameters only. The worker wakes every
second, picks the parameters whose ``policy_due`` time (the next thing to
do, by the controllable clock) has come, and in one transaction per
parameter: emits "Parameter Store Policy Action" notification events,
records what it did in ``policy_state`` (compare-and-set, so two server
processes never act twice) and deletes expired parameters (with a
"Parameter Store Change" Delete event).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from fleetward.audit.record import build_service_event
from fleetward.auth.principal import Principal, PrincipalType
from fleetward.protocol.errors import ValidationException
from fleetward.services.context import CallContext, ServiceEnv, emit_event
from fleetward.services.ssm.errors import (
    IncompatiblePolicyException,
    InvalidPolicyAttributeException,
    InvalidPolicyTypeException,
    PoliciesLimitExceededException,
)
from fleetward.services.ssm.names import param_arn
from fleetward.services.ssm.store import change_event, delete_all

__all__ = [
    "Policy",
    "kept_policy_state",
    "load_policies",
    "parse_policies",
    "policies_out",
    "policy_due",
    "policy_worker",
]

log = logging.getLogger("fleetward.ssm.policies")

MAX_POLICIES = 10
_UNITS = {"Days": 86400.0, "Hours": 3600.0}
_TYPES = ("Expiration", "ExpirationNotification", "NoChangeNotification")
INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class Policy:
    type: str
    text: str
    timestamp: float | None = None  # Expiration
    seconds: float | None = None  # Before / After
    amount: str = ""
    unit: str = ""


def _attr_error(msg: str) -> InvalidPolicyAttributeException:
    return InvalidPolicyAttributeException(f"A policy attribute or its value is invalid. {msg}")


def _parse_time(value: Any) -> float:
    if not isinstance(value, str):
        raise _attr_error("Timestamp must be an ISO 8601 date and time.")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _attr_error(f"Timestamp {value} is not an ISO 8601 date and time.") from None
    if dt.tzinfo is None:
        raise _attr_error(f"Timestamp {value} has no time zone.")
    return dt.timestamp()


def _parse_duration(attrs: dict[str, Any], field: str) -> tuple[float, str, str]:
    amount, unit = attrs.get(field), attrs.get("Unit", "Days")
    if not isinstance(amount, str | int) or not str(amount).isdigit() or int(amount) < 1:
        raise _attr_error(f"{field} must be a positive whole number.")
    if unit not in _UNITS:
        raise _attr_error("Unit must be Days or Hours.")
    return int(amount) * _UNITS[unit], str(amount), unit


def parse_policies(text: str, now: float) -> list[Policy]:
    """Validate a Policies JSON array; raises AWS's policy errors."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValidationException("Invalid policies input: the policies must be a JSON array.") from None
    if not isinstance(doc, list):
        raise ValidationException("Invalid policies input: the policies must be a JSON array.")
    if len(doc) > MAX_POLICIES:
        raise PoliciesLimitExceededException()
    out: list[Policy] = []
    seen: set[str] = set()
    for item in doc:
        ptype = item.get("Type") if isinstance(item, dict) else None
        if ptype not in _TYPES:
            raise InvalidPolicyTypeException(
                f"The policy type {ptype} is not supported. Parameter Store supports the following policy "
                "types: Expiration, ExpirationNotification, and NoChangeNotification."
            )
        if ptype in seen:
            raise IncompatiblePolicyException()
        seen.add(ptype)
        if item.get("Version", "1.0") != "1.0":
            raise _attr_error("Version must be 1.0.")
        attrs = item.get("Attributes")
        if not isinstance(attrs, dict):
            raise _attr_error("Attributes are required.")
        policy_text = orjson.dumps(item).decode()
        if ptype == "Expiration":
            allowed = {"Timestamp"}
            ts = _parse_time(attrs.get("Timestamp"))
            if ts <= now:
                raise _attr_error("Timestamp must be in the future.")
            pol = Policy(ptype, policy_text, timestamp=ts)
        else:
            field = "Before" if ptype == "ExpirationNotification" else "After"
            allowed = {field, "Unit"}
            secs, amount, unit = _parse_duration(attrs, field)
            pol = Policy(ptype, policy_text, seconds=secs, amount=amount, unit=unit)
        extra = set(attrs) - allowed
        if extra:
            raise _attr_error(f"Unknown attribute {sorted(extra)[0]} for policy type {ptype}.")
        out.append(pol)
    if "ExpirationNotification" in seen and "Expiration" not in seen:
        raise IncompatiblePolicyException(
            "An ExpirationNotification policy needs an Expiration policy for the same parameter."
        )
    return out


def _due_times(policies: list[Policy], modified: float) -> dict[str, float]:
    exp = next((p.timestamp for p in policies if p.type == "Expiration"), None)
    due: dict[str, float] = {}
    for p in policies:
        if p.type == "Expiration" and p.timestamp is not None:
            due["Expiration"] = p.timestamp
        elif p.type == "ExpirationNotification" and exp is not None and p.seconds is not None:
            due["ExpirationNotification"] = exp - p.seconds
        elif p.type == "NoChangeNotification" and p.seconds is not None:
            due["NoChangeNotification"] = modified + p.seconds
    return due


def policy_due(policies: list[Policy], modified: float, done: set[str] | None = None) -> float | None:
    """When the worker next has something to do for these policies (None: never)."""
    pending = [t for k, t in _due_times(policies, modified).items() if k not in (done or set())]
    return min(pending) if pending else None


def load_policies(text: str | None) -> list[Policy]:
    """The policies stored by :func:`store_policies` (``[]`` for none)."""
    if not text:
        return []
    return [_from_stored(d) for d in orjson.loads(text)]


def _from_stored(d: dict[str, Any]) -> Policy:
    return Policy(
        d["type"], d["text"], d.get("timestamp"), d.get("seconds"), d.get("amount", ""), d.get("unit", "")
    )


def store_policies(policies: list[Policy]) -> str | None:
    if not policies:
        return None
    return orjson.dumps(
        [
            {
                "type": p.type,
                "text": p.text,
                "timestamp": p.timestamp,
                "seconds": p.seconds,
                "amount": p.amount,
                "unit": p.unit,
            }
            for p in policies
        ]
    ).decode()


def kept_policy_state(state: str | None) -> set[str]:
    """What a new version keeps of the actions already taken when its policies
    are carried over: the expiration ones (updating a parameter doesn't
    affect its expiration, as AWS documents); NoChangeNotification starts
    counting again from the change."""
    done: set[str] = set(orjson.loads(state)) if state else set()
    return done - {"NoChangeNotification"}


def policies_out(stored: str | None, state: str | None, current: bool = True) -> list[dict[str, str]]:
    """The wire ``Policies`` list (``PolicyStatus`` Pending / Finished)."""
    done = set(orjson.loads(state)) if (state and current) else set()
    return [
        {
            "PolicyText": p.text,
            "PolicyType": p.type,
            "PolicyStatus": "Finished" if p.type in done else "Pending",
        }
        for p in load_policies(stored)
    ]


# ------------------------------------------------------------------ worker


def _system_ctx(env: ServiceEnv, conn: Any, account: str, region: str, now: float) -> CallContext:
    principal = Principal(
        type=PrincipalType.AWS_SERVICE,
        account=account,
        arn="ssm.amazonaws.com",
        principal_id="ssm.amazonaws.com",
        access_key="",
        name="ssm.amazonaws.com",
    )
    return CallContext("", principal, region, env, conn, now=now)


async def run_due(env: ServiceEnv) -> int:
    """Act on every parameter whose policies are due; returns how many were handled."""
    now = env.clock.now()
    rows = await env.db.fetchall(
        "SELECT account, region, name, version FROM ssm_parameters WHERE policy_due IS NOT NULL"
        " AND policy_due <= ? ORDER BY policy_due LIMIT 100",
        float(now),
    )
    handled = 0
    for r in rows:
        async with env.db.write() as conn:
            # Take the row's lock first (PostgreSQL): two server processes never act twice.
            await conn.execute(
                "UPDATE ssm_parameters SET policy_due = policy_due"
                " WHERE account = ? AND region = ? AND name = ? AND version = ?",
                r[0],
                r[1],
                r[2],
                r[3],
            )
            row = await conn.fetchone(
                "SELECT type, policies, policy_state, modified, description FROM ssm_parameters"
                " WHERE account = ? AND region = ? AND name = ? AND version = ? AND policy_due <= ?",
                r[0],
                r[1],
                r[2],
                r[3],
                float(now),
            )
            if row is None:
                continue
            ctx = _system_ctx(env, conn, r[0], r[1], now)
            await _act(ctx, r[2], int(r[3]), row)
            handled += 1
    return handled


async def _record_expiry(ctx: CallContext, arn: str) -> None:
    """The trail's record of the deletion, in its transaction: a DeleteParameter
    service event by ssm.amazonaws.com (no record, no deletion)."""
    audit = ctx.env.extras.get("audit")
    if audit is None:
        return
    event = build_service_event(
        service="ssm.amazonaws.com",
        account=ctx.account,
        region=ctx.region,
        event_name="DeleteParameter",
        event_time=ctx.now,
        resources=[{"ARN": arn, "type": "AWS::SSM::Parameter"}],
        additional={"policyType": "Expiration"},
    )
    await audit.write_in(ctx.conn, event)


async def _act(ctx: CallContext, name: str, version: int, row: Any) -> None:
    policies = load_policies(row["policies"])
    done: set[str] = set(orjson.loads(row["policy_state"])) if row["policy_state"] else set()
    due = _due_times(policies, float(row["modified"]))
    arn = param_arn(ctx.region, ctx.account, name)
    fired: list[str] = []
    for ptype, when in sorted(due.items(), key=lambda kv: kv[1]):
        if ptype in done or when > ctx.now:
            continue
        detail: dict[str, Any] = {
            "parameter-name": name,
            "parameter-type": row["type"],
            "policy-type": ptype,
            "action-status": "Finished",
        }
        pol = next(p for p in policies if p.type == ptype)
        if ptype == "ExpirationNotification":
            detail["action-reason"] = f"Parameter {name} will expire in {pol.amount} {pol.unit.lower()}."
        elif ptype == "NoChangeNotification":
            detail["action-reason"] = (
                f"Parameter {name} has not been changed for {pol.amount} {pol.unit.lower()}."
            )
        else:
            detail["action-reason"] = f"Parameter {name} expired and was deleted."
        await emit_event(ctx, "aws.ssm", "Parameter Store Policy Action", [arn], detail)
        fired.append(ptype)
    if "Expiration" in fired:
        await delete_all(ctx.conn, ctx.account, ctx.region, name)
        await change_event(ctx, "Delete", name, row["type"], row["description"])
        await _record_expiry(ctx, arn)
        return
    done.update(fired)
    await ctx.conn.execute(
        "UPDATE ssm_parameters SET policy_state = ?, policy_due = ?"
        " WHERE account = ? AND region = ? AND name = ? AND version = ?",
        orjson.dumps(sorted(done)).decode(),
        policy_due(policies, float(row["modified"]), done),
        ctx.account,
        ctx.region,
        name,
        version,
    )


def policy_worker(env: ServiceEnv) -> Any:
    """The background coroutine factory for ``env.background``."""

    async def loop() -> None:
        while True:
            try:
                await run_due(env)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("parameter policy worker failed; retrying")
            await asyncio.sleep(INTERVAL)

    return loop
