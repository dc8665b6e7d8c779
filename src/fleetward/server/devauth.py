"""Dev mode identity: a key fleetward did not issue is the administrator of 123456789012.

Keys fleetward issued (IAM users' access keys, STS session credentials) are
their own principals, verified as any server verifies them, so calls that
depend on the caller (GetCallerIdentity, GetUser or CreateAccessKey without a
user name, access key and role last-used data) answer as AWS would.
Authorization stays off: every principal may do anything.

Only ``fleetward server --dev`` (loopback, loud banner) uses this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.auth.sigv4 import HttpRequest, SigV4Auth
from fleetward.protocol.registry import Check
from fleetward.services.iam.authn import Authenticator
from fleetward.services.iam.directory import Directory

__all__ = ["DEV_ACCOUNT", "DevAuthenticator", "DevAuthorizer"]

DEV_ACCOUNT = "123456789012"


class DevAuthenticator:
    """The administrator for any key ``directory`` does not know; the key's
    principal (or its error: bad signature, expired or inactive key) otherwise."""

    def __init__(self, directory: Directory | None = None) -> None:
        self.issued = Authenticator(directory) if directory is not None else None

    async def authenticate(self, req: HttpRequest, auth: SigV4Auth, call: Any) -> Principal:
        if self.issued is not None and await self.issued.directory.credential(auth.access_key) is not None:
            return await self.issued.authenticate(req, auth, call)
        return Principal(
            type=PrincipalType.IAM_USER,
            account=DEV_ACCOUNT,
            arn=f"arn:aws:iam::{DEV_ACCOUNT}:user/admin",
            principal_id="AIDADEVADMINISTRATOR",
            access_key=auth.access_key,
            name="admin",
        )


class DevAuthorizer:
    async def authorize(self, call: Any, checks: Sequence[Check]) -> None:
        return None
