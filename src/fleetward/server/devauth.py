"""Dev mode identity: any access key is the administrator of 123456789012.

Only ``fleetward server --dev`` (loopback, loud banner) uses this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.auth.sigv4 import HttpRequest, SigV4Auth
from fleetward.protocol.registry import Check

__all__ = ["DEV_ACCOUNT", "DevAuthenticator", "DevAuthorizer"]

DEV_ACCOUNT = "123456789012"


class DevAuthenticator:
    async def authenticate(self, req: HttpRequest, auth: SigV4Auth, call: Any) -> Principal:
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
