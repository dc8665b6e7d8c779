"""Dev mode identity: a key fleetward did not issue is the administrator of 123456789012.

Keys fleetward issued (IAM users' access keys, STS session credentials) are
their own principals, verified as any server verifies them, so calls that
depend on the caller (GetCallerIdentity, GetUser or CreateAccessKey without a
user name, access key and role last-used data) answer as AWS would.
Authorization stays off: every principal may do anything, except what an
explicit ``Deny`` in the resource's own policy (a KMS key policy, a role trust
policy) forbids, as on AWS, where no identity policy overrides one: the rule
the real authorizer applies to the account root.

Only ``fleetward server --dev`` (loopback, loud banner) uses this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.auth.sigv4 import HttpRequest, SigV4Auth
from fleetward.iam.context import RequestContext
from fleetward.iam.evaluate import DecisionKind, evaluate
from fleetward.protocol.errors import AccessDeniedException
from fleetward.protocol.registry import Check
from fleetward.services.iam.authn import Authenticator
from fleetward.services.iam.authz import call_keys, deny_message, via_service_keys
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


def _refuse_explicit_deny(principal: Principal, checks: Sequence[Check], base: Mapping[str, Any]) -> None:
    """AccessDeniedException (AWS's message) if a resource policy explicitly denies a check."""
    for check in checks:
        if check.resource_policy is None:
            continue
        keys: dict[str, Any] = dict(base)
        if check.keys:
            keys.update({k.lower(): v for k, v in check.keys.items()})
        rctx = RequestContext(check.action, check.resource, principal.arns, principal.account, keys)
        decision = evaluate(rctx, resource=check.resource_policy, resource_account=check.resource_account)
        if decision.kind is DecisionKind.EXPLICIT_DENY:
            raise AccessDeniedException(deny_message(principal, check.action, check.resource, decision))


class DevAuthorizer:
    async def authorize(self, call: Any, checks: Sequence[Check]) -> None:
        """Allow every check but one a resource policy explicitly denies (pipeline step 5)."""
        _refuse_explicit_deny(call.principal, checks, call_keys(call))

    async def check(self, ctx: Any, check: Check, params: Mapping[str, Any] | None = None) -> None:
        """A mid-operation check as the caller (Parameter Store -> KMS): as :meth:`authorize`."""
        _refuse_explicit_deny(ctx.principal, (check,), via_service_keys(ctx, check, params))
