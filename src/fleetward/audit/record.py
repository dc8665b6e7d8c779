"""CloudTrail-schema records of API calls.

The vocabulary is closed: ``eventType`` is always ``AwsApiCall``;
``userIdentity.type`` is one of IAMUser, AssumedRole, Root, AWSService,
Unknown (the call failed authentication).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType

__all__ = ["AuditRecord", "build_record", "user_identity"]


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


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_identity(p: Principal | None, access_key: str | None = None) -> dict[str, Any]:
    """CloudTrail's ``userIdentity`` element for ``p`` (``Unknown`` when unauthenticated)."""
    if p is None:
        ident: dict[str, Any] = {"type": "Unknown"}
        if access_key:
            ident["accessKeyId"] = access_key
        return ident
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
                "creationDate": _iso(p.session_created.timestamp()) if p.session_created else None,
                "mfaAuthenticated": "true" if p.mfa else "false",
            },
        }
    return ident


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
    """Build the CloudTrail record of one call (values must already be redacted)."""
    event_id = str(uuid.uuid4())
    ident = user_identity(principal, access_key)
    if invoked_by:
        ident["invokedBy"] = invoked_by
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": ident,
        "eventTime": _iso(event_time),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code:
        rec["errorCode"] = error_code
        rec["errorMessage"] = error_message or ""
    rec["requestParameters"] = request_parameters
    rec["responseElements"] = None if read_only else response_elements
    if additional:
        rec["additionalEventData"] = additional
    rec.update(
        {
            "requestID": request_id,
            "eventID": event_id,
            "readOnly": read_only,
            "resources": [{"ARN": r["ARN"], "accountId": account, "type": r.get("type")} for r in resources]
            or None,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        }
    )
    if rec["resources"] is None:
        del rec["resources"]
    if tls:
        rec["tlsDetails"] = tls
    username = None
    if principal is not None:
        username = (
            principal.name if principal.type is not PrincipalType.ASSUMED_ROLE else principal.session_name
        )
        if principal.type is PrincipalType.ROOT:
            username = "root"
    return AuditRecord(
        account=account,
        region=region,
        event_id=event_id,
        event_time=event_time,
        event_name=event_name,
        event_source=event_source,
        username=username,
        access_key_id=access_key,
        principal_arn=principal.arn if principal else None,
        read_only=read_only,
        error_code=error_code,
        record=rec,
        resources=resources,
    )
