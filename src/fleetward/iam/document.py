"""IAM's write-time checks of a policy document, in IAM's order and with its messages.

:func:`check_iam_document` is what IAM runs on ``CreatePolicy``,
``CreatePolicyVersion``, ``Put*Policy`` (identity policies) and on a role's
trust policy (``trust=True``), before the document is compiled. IAM checks in
phases and reports the first phase that fails:

1. syntax: JSON object, known elements, value types (``Syntax errors in policy.``);
2. ``Version`` must be ``2012-10-17`` (``Policy document must be version 2012-10-17 or greater.``);
3. legacy parsing: ``Effect`` spelled exactly, date condition values, resource
   ARN shapes (``The policy failed legacy parsing``);
4. unique ``Sid`` values; 5. every statement has actions;
6. the first resource ARN format error found (partition, vendor, region, IAM paths);
7. action vendor prefixes; 8. identity policies: every statement has resources;
   trust policies: only STS actions and no ``Resource``.

:func:`parse_legacy_date` is the date syntax IAM accepts in ``Date*`` conditions
(ISO 8601 with IAM's leniencies, or epoch seconds); the evaluator uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from fleetward.iam.errors import MalformedPolicyError

__all__ = ["check_iam_document", "parse_legacy_date"]

SYNTAX: Final = "Syntax errors in policy."
VERSION: Final = "Policy document must be version 2012-10-17 or greater."
LEGACY: Final = "The policy failed legacy parsing"
VENDOR: Final = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."

TOP_FIELDS: Final = frozenset({"Version", "Id", "Statement"})
STATEMENT_FIELDS: Final = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_OPERATORS: Final = frozenset(
    name.lower()
    for name in (
        "StringEquals StringNotEquals StringEqualsIgnoreCase StringNotEqualsIgnoreCase StringLike"
        " StringNotLike NumericEquals NumericNotEquals NumericLessThan NumericLessThanEquals"
        " NumericGreaterThan NumericGreaterThanEquals DateEquals DateNotEquals DateLessThan"
        " DateLessThanEquals DateGreaterThan DateGreaterThanEquals Bool BinaryEquals IpAddress"
        " NotIpAddress ArnEquals ArnLike ArnNotEquals ArnNotLike Null"
    ).split()
)
_PARTITIONS: Final = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_IAM_PATHS: Final = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)
_TRUST_ACTIONS: Final = frozenset(
    {
        "sts:AssumeRole",
        "sts:AssumeRoleWithSAML",
        "sts:AssumeRoleWithWebIdentity",
        "sts:DecodeAuthorizationMessage",
        "sts:GetAccessKeyInfo",
        "sts:GetCallerIdentity",
        "sts:GetFederationToken",
        "sts:GetServiceBearerToken",
        "sts:GetSessionToken",
        "sts:SetSourceIdentity",
        "sts:TagSession",
    }
)
_BAD_VENDOR: Final = re.compile(r"[^a-zA-Z0-9\-.]")
_MAX_EPOCH: Final = 2**63 - 1


class _Invalid(Exception):
    """One phase failed (the caller turns it into that phase's message)."""


def check_iam_document(text: str, *, trust: bool = False) -> None:
    """Raise :class:`MalformedPolicyError` with IAM's message when IAM would refuse ``text``."""
    statements = _syntax(text)
    if statements is None:
        raise MalformedPolicyError(SYNTAX)
    policy, items = statements
    if policy.get("Version") != "2012-10-17":
        raise MalformedPolicyError(VERSION)
    try:
        resource_error = _legacy(items)
    except (_Invalid, ValueError, IndexError) as exc:
        raise MalformedPolicyError(LEGACY) from exc
    sids = [s["Sid"] for s in items if s.get("Sid")]
    if len(sids) != len(set(sids)):
        raise MalformedPolicyError("Statement IDs (SID) in a single policy must be unique.")
    for s in items:
        if not any(k in s and s[k] != [] for k in ("Action", "NotAction")):
            raise MalformedPolicyError("Policy statement must contain actions.")
    if resource_error:
        raise MalformedPolicyError(resource_error)
    for key in ("Action", "NotAction"):
        for s in items:
            for action in _values(s.get(key)):
                _check_action(action)
    if trust:
        for s in items:
            if any(a not in _TRUST_ACTIONS for a in _values(s.get("Action"))):
                raise MalformedPolicyError(
                    "Trust Policy statement actions can only be sts:AssumeRole, "
                    "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
                )
        if any("Resource" in s or "NotResource" in s for s in items):
            raise MalformedPolicyError("Has prohibited field Resource.")
    else:
        for s in items:
            if not any(k in s and s[k] != [] for k in ("Resource", "NotResource")):
                raise MalformedPolicyError("Policy statement must contain resources.")


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


# ------------------------------------------------------------------ syntax


def _syntax(text: str) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]] | None:
    try:
        policy = json.loads(text)
    except ValueError:
        return None
    if not isinstance(policy, dict) or any(k not in TOP_FIELDS for k in policy):
        return None
    if "Version" in policy and policy["Version"] not in ("2008-10-17", "2012-10-17"):
        return None
    if "Id" in policy and not isinstance(policy["Id"], str):
        return None
    raw = policy.get("Statement")
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        return None
    if not all(isinstance(s, dict) and _statement_syntax(s) for s in items):
        return None
    return policy, items


def _statement_syntax(s: Mapping[str, Any]) -> bool:
    if any(k not in STATEMENT_FIELDS for k in s):
        return False
    if ("Resource" in s and "NotResource" in s) or ("Action" in s and "NotAction" in s):
        return False
    effect = s.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        return False
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in s:
            value = s[key]
            if not (
                isinstance(value, str)
                or (isinstance(value, list) and all(v is None or isinstance(v, str) for v in value))
            ):
                return False
    if "Sid" in s and not isinstance(s["Sid"], str):
        return False
    condition = s.get("Condition")
    if condition is None:
        return "Condition" not in s
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return False
        if not all(isinstance(v, bool | list | str | int | float) for v in block.values()):
            return False
        if _base_operator(operator) not in _OPERATORS and block:
            return False
    return True


def _base_operator(operator: str) -> str:
    name = operator.lower()
    for prefix in ("foranyvalue:", "forallvalues:"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name.endswith("ifexists"):
        name = name[: -len("ifexists")]
    return name


# ------------------------------------------------------------------ legacy


def _legacy(items: list[Mapping[str, Any]]) -> str:
    """Phase 3; returns the resource format error to report later (phase 6), if any."""
    for s in items:
        if s["Effect"] not in ("Allow", "Deny"):
            raise _Invalid("effect")
        for operator, block in (s.get("Condition") or {}).items():
            if _base_operator(operator).startswith("date"):
                for value in block.values():
                    for item in value if isinstance(value, list) else [value]:
                        if parse_legacy_date(str(item)) is None:
                            raise _Invalid("date")
    error = ""
    for key in ("Resource", "NotResource"):
        for s in items:
            if key not in s:
                continue
            values = sorted((v for v in _values(s[key]) if v), reverse=True)
            for value in values:
                error = _resource_format(value) or error
            if not error:
                for value in values:
                    if value != "*" and not (value.count(":") >= 5 or "::" not in value):
                        raise _Invalid("resource")
                    if value != "*" and value.split(":")[2] == "":
                        raise _Invalid("resource")
    return error


def _resource_format(resource: str) -> str:
    if resource == "*":
        return ""
    _, sep, rest = resource.partition(":")
    if not sep:
        return f'Resource {resource} must be in ARN format or "*".'
    partition, sep, rest = rest.partition(":")
    if partition != "*" and partition not in _PARTITIONS:
        parts = rest.split(":")
        arn1 = parts[0] if parts[0] != "" or len(parts) > 1 else "*"
        arn2 = parts[1] if len(parts) > 1 else "*"
        arn3 = parts[2] if len(parts) > 2 else "*"
        arn4 = ":".join(parts[3:]) if len(parts) > 3 else "*"
        return f'Partition "{partition}" is not valid for resource "arn:{partition}:{arn1}:{arn2}:{arn3}:{arn4}".'
    if not sep:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service, _, after_service = rest.partition(":")
    region, _, after_region = after_service.partition(":")
    _, _, resource_id = after_region.partition(":")
    if region:
        if service == "iam":
            return f"IAM resource {resource} cannot contain region information."
        if service == "s3" and not resource_id.startswith("accesspoint/"):
            return f"Resource {resource} can not contain region information."
    if service == "iam" and resource_id != "*" and not resource_id.startswith(_IAM_PATHS):
        return f'IAM resource path must either be "*" or start with {", ".join(_IAM_PATHS)}.'
    return ""


def _check_action(action: str) -> None:
    parts = action.split(":")
    if len(parts) == 1 and parts[0] != "*":
        raise MalformedPolicyError(VENDOR)
    if len(parts) > 2:
        raise MalformedPolicyError("Actions/Condition can contain only one colon.")
    if parts[0] != "*" and _BAD_VENDOR.search(parts[0]):
        raise MalformedPolicyError(f"Vendor {parts[0]} is not valid")


# ------------------------------------------------------------------- dates

_SECONDS_PER_YEAR: Final = 31556952  # mean Gregorian year


def parse_legacy_date(text: str) -> float | None:
    """Epoch seconds of an IAM date condition value, or None when IAM refuses it.

    Accepted: epoch seconds (0 to 2**63-1), or ``[-]Y[-M[-D]][T[h[:m[:s[.f]]]][Z|+hh[:mm]|-hh[:mm]]]``
    with one- or two-digit fields, any case for ``T``/``Z``, years -292275054 to 292278993.
    """
    value = text.strip().lower()
    if "t" not in value and "-" not in value:
        if not value.isdigit():
            return None
        number = int(value)
        return float(number) if number <= _MAX_EPOCH else None
    date_part, _, time_part = value.partition("t")
    negative = date_part.startswith("-")
    fields = (date_part[1:] if negative else date_part).split("-")
    if len(fields) > 3:
        return None
    try:
        numbers = [int(f) for f in fields]
        year = -numbers[0] if negative else numbers[0]
        month = numbers[1] if len(numbers) > 1 else 1
        day = numbers[2] if len(numbers) > 2 else 1
        clock = _clock(time_part)
    except ValueError:
        return None
    if not (-292275054 <= year <= 292278993 and 1 <= month <= 12 and 1 <= day <= 31) or clock is None:
        return None
    seconds, offset = clock
    if 1 <= year <= 9999:
        try:
            base = datetime(year, month, min(day, 28), tzinfo=UTC).timestamp() + (day - min(day, 28)) * 86400
        except ValueError:
            return None
    else:
        base = (year - 1970) * _SECONDS_PER_YEAR + ((month - 1) * 30 + day - 1) * 86400.0
    return base + seconds - offset


def _clock(text: str) -> tuple[float, float] | None:
    """(seconds into the day, UTC offset in seconds) of IAM's time part."""
    if not text:
        return 0.0, 0.0
    offset = 0.0
    fields = text.split(":", 2)
    hours = int(fields[0]) if fields[0] else 0
    minutes = int(fields[1]) if len(fields) > 1 else 0
    seconds = 0.0
    if len(fields) > 2:
        rest = fields[2]
        if "z" in rest:
            rest, _, tail = rest.partition("z")
            if tail:
                return None
        else:
            for sign in ("+", "-"):
                if sign in rest:
                    rest, _, zone = rest.partition(sign)
                    tz_hours, sep, tz_minutes = zone.partition(":")
                    if len(tz_hours) != 2 or (sep and len(tz_minutes) != 2):
                        return None
                    h, m = int(tz_hours), int(tz_minutes) if sep else 0
                    if not (0 <= h <= 23 and 0 <= m <= 59):
                        return None
                    offset = (h * 3600 + m * 60) * (1 if sign == "+" else -1)
                    break
        whole, dot, fraction = rest.partition(".")
        secs = int(whole)
        frac = int(fraction) if dot else 0
        if not (0 <= secs <= 59 and 0 <= frac <= 999999999):
            return None
        seconds = secs + (float(f"0.{fraction}") if dot else 0.0)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        return None
    return hours * 3600 + minutes * 60 + seconds, offset
