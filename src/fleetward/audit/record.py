"""CloudTrail-schema records of API calls.

The vocabulary is closed: ``eventType`` is ``AwsApiCall`` for a call and
``AwsServiceEvent`` for an action a service took on its own (a scheduled
key deletion or rotation; ``userIdentity`` is then the account and the
service that acted); ``userIdentity.type`` is one of IAMUser, AssumedRole,
Root, AWSService, Unknown (the call failed authentication).

A record is serialized once (``AuditRecord.text``, one ``orjson`` dump):
that text is what the trail stores, what digests hash and what
LookupEvents returns as ``CloudTrailEvent``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import botocore.session
import orjson
from botocore.model import Shape

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.ids import time_ordered_uuid
from fleetward.protocol.redact import HIDDEN

__all__ = [
    "ALWAYS_HIDDEN",
    "AuditRecord",
    "build_record",
    "build_service_event",
    "cloudtrail_names",
    "dumps",
    "event_region",
    "hide_secrets",
    "iso",
    "user_identity",
]

# Hidden wherever they appear, whatever the operation declared: a safety net
# under the model's ``sensitive`` flags and the operations' ``hidden`` names.
ALWAYS_HIDDEN = frozenset(
    {"SecretAccessKey", "SessionToken", "TokenValue", "tokenValue", "secretAccessKey", "sessionToken"}
)
_NEEDLES = tuple(f'"{k}"'.encode() for k in ALWAYS_HIDDEN)


@dataclass(slots=True)
class AuditRecord:
    """One call's record plus the columns LookupEvents searches on."""

    account: str
    region: str
    event_id: str
    event_time: float
    event_name: str
    event_source: str
    username: str | None
    access_key_id: str | None
    principal_arn: str | None
    read_only: bool
    error_code: str | None
    record: dict[str, Any]
    resources: list[dict[str, str]] = field(default_factory=list)
    text: str = ""


def _json_default(v: Any) -> Any:
    if isinstance(v, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(v)).decode()
    raise TypeError(type(v).__name__)


def dumps(rec: dict[str, Any]) -> bytes:
    """The stored form of a record (blobs as base64)."""
    return orjson.dumps(rec, default=_json_default)


_iso_cache: list[Any] = [None, ""]


def iso(t: float) -> str:
    """CloudTrail's timestamp format (seconds, UTC, ``Z``); the last second's text is reused."""
    sec = int(t)
    if _iso_cache[0] != sec:
        _iso_cache[1] = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _iso_cache[0] = sec
    return str(_iso_cache[1])


@lru_cache(maxsize=1)
def _global_regions() -> dict[str, str]:
    """Services with one global endpoint (IAM) and the Region that records their
    events, from botocore's endpoint data: not regionalized, the partition
    endpoint's credential scope (us-east-1 in the aws partition)."""
    data = botocore.session.get_session().get_data("endpoints")
    out: dict[str, str] = {}
    for name, svc in data["partitions"][0]["services"].items():
        if svc.get("isRegionalized") is False and svc.get("partitionEndpoint"):
            scope = svc.get("endpoints", {}).get(svc["partitionEndpoint"], {}).get("credentialScope", {})
            if scope.get("region"):
                out[name] = str(scope["region"])
    return out


def event_region(endpoint_prefix: str, region: str) -> str:
    """The ``awsRegion`` of a call to the service whose endpoint prefix is
    ``endpoint_prefix``, made in ``region``: a global service's events are
    recorded in its home Region, as CloudTrail delivers IAM's to us-east-1."""
    return _global_regions().get(endpoint_prefix, region)


@lru_cache(maxsize=4096)
def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def cloudtrail_names(shape: Shape | None, value: Any) -> Any:
    """``value`` (request or response of ``shape``) with structure members named
    as CloudTrail records them: the first letter lower case (``Name`` -> ``name``,
    ``KeyId`` -> ``keyId``). Map keys are data and stay as they are."""
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        members = shape.members
        return {_lower_first(k): cloudtrail_names(members.get(k), v) for k, v in value.items()}
    if t == "list" and isinstance(value, list):
        return [cloudtrail_names(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: cloudtrail_names(shape.value, v) for k, v in value.items()}
    return value


def hide_secrets(value: Any) -> Any:
    """A copy of ``value`` with every ``ALWAYS_HIDDEN`` member replaced by HIDDEN."""
    if isinstance(value, dict):
        return {
            k: (HIDDEN if k in ALWAYS_HIDDEN and v is not None else hide_secrets(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [hide_secrets(v) for v in value]
    return value


def user_identity(p: Principal | None, access_key: str | None = None) -> dict[str, Any]:
    """CloudTrail's ``userIdentity`` element for ``p`` (``Unknown`` when unauthenticated)."""
    if p is None:
        ident: dict[str, Any] = {"type": "Unknown"}
        if access_key:
            ident["accessKeyId"] = access_key
        return ident
    if p.type is PrincipalType.AWS_SERVICE:
        return {"type": "AWSService", "invokedBy": p.name or p.arn}
    ident = {
        "type": str(p.type),
        "principalId": p.principal_id,
        "arn": p.arn,
        "accountId": p.account,
    }
    if p.access_key:
        ident["accessKeyId"] = p.access_key
    if p.type is PrincipalType.IAM_USER:
        ident["userName"] = p.name
    if p.type is PrincipalType.ASSUMED_ROLE:
        ident["sessionContext"] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": p.principal_id.split(":", 1)[0],
                "arn": p.role_arn,
                "accountId": p.account,
                "userName": p.role_name,
            },
            "attributes": {
                "creationDate": iso(p.session_created.timestamp()) if p.session_created else None,
                "mfaAuthenticated": "true" if p.mfa else "false",
            },
        }
    elif p.session_created is not None or p.mfa:
        # Temporary credentials of the user itself (GetSessionToken).
        ident["sessionContext"] = {
            "attributes": {
                "creationDate": iso(p.session_created.timestamp()) if p.session_created else None,
                "mfaAuthenticated": "true" if p.mfa else "false",
            }
        }
    return ident


def _username(p: Principal | None) -> str | None:
    if p is None:
        return None
    if p.type is PrincipalType.ROOT:
        return "root"
    if p.type is PrincipalType.ASSUMED_ROLE:
        return p.session_name
    if p.type is PrincipalType.AWS_SERVICE:
        return None
    return p.name


def build_record(
    *,
    principal: Principal | None,
    account: str,
    access_key: str | None,
    region: str,
    event_source: str,
    event_name: str,
    event_time: float,
    request_id: str,
    source_ip: str,
    user_agent: str,
    read_only: bool,
    request_parameters: dict[str, Any] | None,
    response_elements: dict[str, Any] | None,
    resources: list[dict[str, str]],
    error_code: str | None = None,
    error_message: str | None = None,
    additional: dict[str, Any] | None = None,
    tls: dict[str, str] | None = None,
    invoked_by: str | None = None,
) -> AuditRecord:
    """Build the CloudTrail record of one call.

    Values should already be redacted by the model (``protocol.redact``);
    access-key secrets and session tokens are hidden here again wherever
    they appear. Read-only calls never record a response.
    """
    event_id = time_ordered_uuid()
    ident = user_identity(principal, access_key)
    if invoked_by:
        ident["invokedBy"] = invoked_by
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": ident,
        "eventTime": iso(event_time),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": invoked_by or source_ip,
        "userAgent": invoked_by or user_agent,
    }
    if error_code:
        rec["errorCode"] = error_code
        rec["errorMessage"] = error_message or ""
    rec["requestParameters"] = request_parameters
    rec["responseElements"] = None if read_only else response_elements
    if additional:
        rec["additionalEventData"] = additional
    rec["requestID"] = request_id
    rec["eventID"] = event_id
    rec["readOnly"] = read_only
    _close(rec, "AwsApiCall", account, resources)
    if tls:
        rec["tlsDetails"] = tls
    text = dumps(rec)
    if any(n in text for n in _NEEDLES):
        rec = hide_secrets(rec)
        text = dumps(rec)
    return AuditRecord(
        account=account,
        region=region,
        event_id=event_id,
        event_time=event_time,
        event_name=event_name,
        event_source=event_source,
        username=_username(principal),
        access_key_id=access_key,
        principal_arn=principal.arn if principal else None,
        read_only=read_only,
        error_code=error_code,
        record=rec,
        resources=resources,
        text=text.decode(),
    )


def _close(rec: dict[str, Any], event_type: str, account: str, resources: list[dict[str, str]]) -> None:
    """The members every record ends with, in CloudTrail's order."""
    if resources:
        rec["resources"] = [
            {"ARN": r["ARN"], "accountId": account, "type": r.get("type") or None} for r in resources
        ]
    rec["eventType"] = event_type
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account
    rec["eventCategory"] = "Management"


def build_service_event(
    *,
    service: str,
    account: str,
    region: str,
    event_name: str,
    event_time: float,
    resources: list[dict[str, str]],
    additional: dict[str, Any] | None = None,
) -> AuditRecord:
    """CloudTrail's record of an action ``service`` (``kms.amazonaws.com``) took
    on its own, not for a caller: ``eventType`` AwsServiceEvent, the account
    and the service as ``userIdentity``, no request and no response."""
    event_id = time_ordered_uuid()
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": {"accountId": account, "invokedBy": service},
        "eventTime": iso(event_time),
        "eventSource": service,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": service,
        "userAgent": service,
        "requestParameters": None,
        "responseElements": None,
    }
    if additional:
        rec["additionalEventData"] = additional
    rec["eventID"] = event_id
    rec["readOnly"] = False
    _close(rec, "AwsServiceEvent", account, resources)
    return AuditRecord(
        account=account,
        region=region,
        event_id=event_id,
        event_time=event_time,
        event_name=event_name,
        event_source=service,
        username=None,
        access_key_id=None,
        principal_arn=None,
        read_only=False,
        error_code=None,
        record=rec,
        resources=resources,
        text=dumps(rec).decode(),
    )
