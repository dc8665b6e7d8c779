"""The authenticator: SigV4 on every call, against stored credentials.

Errors, in AWS's order: unknown/deleted/inactive key -> UnrecognizedClientException
(Query: InvalidClientTokenId); temporary key without or with a wrong session
token -> UnrecognizedClientException; expired session -> ExpiredTokenException;
scope naming another service, bad signature -> InvalidSignatureException
(Query: SignatureDoesNotMatch); stale date -> InvalidSignatureException with
"Signature expired: ..."; GetSessionToken credentials without MFA calling IAM ->
UnrecognizedClientException, as in AWS. Clock skew: 5 minutes for JSON services, 15 for Query.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.auth.sigv4 import HttpRequest, SigningKeyCache, SigV4Auth, SigV4Error, verify
from fleetward.protocol.errors import (
    ExpiredTokenException,
    InvalidSignatureException,
    UnrecognizedClientException,
)
from fleetward.services.iam.directory import Directory, token_hash
from fleetward.services.iam.last_used import LastUsed

__all__ = ["JSON_SKEW", "QUERY_SKEW", "Authenticator"]

JSON_SKEW = timedelta(minutes=5)
QUERY_SKEW = timedelta(minutes=15)


def _session_token(req: HttpRequest, auth: SigV4Auth) -> str | None:
    for name, value in req.headers:
        if name.lower() == "x-amz-security-token":
            return value
    if auth.presigned and req.query:
        from urllib.parse import parse_qsl

        for name, value in parse_qsl(req.query, keep_blank_values=True):
            if name == "X-Amz-Security-Token":
                return value
    return None


class Authenticator:
    """Resolves the caller of a signed request (see the module docstring)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.signing_keys = SigningKeyCache(4096)
        self.last_used = LastUsed(directory.env)

    async def authenticate(self, req: HttpRequest, auth: SigV4Auth, call: Any) -> Principal:
        cred = await self.directory.credential(auth.access_key)
        if cred is None or not cred.active:
            raise UnrecognizedClientException()
        now = self.directory.env.clock.now()
        if cred.token_hash is not None:
            token = _session_token(req, auth)
            if token is None or not hmac.compare_digest(token_hash(token), cred.token_hash):
                raise UnrecognizedClientException()
            if cred.expires is not None and now >= cred.expires:
                raise ExpiredTokenException()
        service = call.service.signing_name if call.service is not None else auth.service
        if auth.service != service:
            raise InvalidSignatureException(f"Credential should be scoped to correct service: '{service}'. ")
        skew = QUERY_SKEW if call.protocol == "query" else JSON_SKEW
        try:
            verify(
                req,
                auth,
                cred.secret,
                now=self.directory.env.clock.utcnow(),
                max_skew=skew,
                cache=self.signing_keys,
            )
        except SigV4Error as e:
            raise InvalidSignatureException(e.message) from None
        principal = cred.principal
        if (
            service == "iam"
            and principal.type is PrincipalType.IAM_USER
            and principal.session_id
            and not principal.mfa
        ):
            # GetSessionToken credentials without MFA cannot call IAM (AWS answers as for a bad token).
            raise UnrecognizedClientException()
        self.last_used.note(principal, service, call.region, now)
        return principal
