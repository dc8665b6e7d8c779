"""Who is calling: the authenticated principal of a request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["Principal", "PrincipalType"]


class PrincipalType(StrEnum):
    ROOT = "Root"
    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"
    AWS_SERVICE = "AWSService"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``entity_id`` is the internal id of the IAM user or role whose policies
    apply (empty for root). ``principal_id`` is CloudTrail's principalId
    (``AIDA...`` for users, ``AROA...:session`` for role sessions).
    ``source_identity`` is a role session's SourceIdentity (it stays through
    role chaining and is the ``aws:SourceIdentity`` condition key).
    """

    type: PrincipalType
    account: str
    arn: str
    principal_id: str
    access_key: str
    name: str
    entity_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    session_tags: Mapping[str, str] = field(default_factory=dict)
    mfa: bool = False
    role_arn: str | None = None
    role_name: str | None = None
    session_name: str | None = None
    session_created: datetime | None = None
    session_expires: datetime | None = None
    session_id: str | None = None
    source_identity: str | None = None

    @property
    def arns(self) -> tuple[str, ...]:
        """Every ARN that names this caller in a policy's Principal element."""
        if self.role_arn:
            return (self.arn, self.role_arn)
        return (self.arn,)
