"""STS GetSessionToken (temporary credentials of an IAM user or the account root)
and GetAccessKeyInfo (the account an access key belongs to).

A GetSessionToken session acts as the user itself, with the user's policies,
until it expires. As in AWS, it cannot call IAM unless it was created with MFA
(see :mod:`fleetward.services.iam.authn`), and session credentials cannot ask
for another session token. fleetward has no MFA devices yet, so a request
naming one (``SerialNumber``/``TokenCode``) fails MFA validation.
"""

from __future__ import annotations

from typing import Any

from fleetward.auth.principal import PrincipalType
from fleetward.protocol.errors import AccessDeniedException
from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.directory import token_hash
from fleetward.services.iam.errors import StsValidationError

DEFAULT_DURATION = 43200
ROOT_MAX_DURATION = 3600


@operation("sts", "GetSessionToken", hidden={"SecretAccessKey", "SessionToken"})
async def get_session_token(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """New ``ASIA...`` credentials for the calling user, valid ``DurationSeconds``
    (900 to 129600, default 43200; at most 3600 for the root user).

    AccessDenied when called with temporary credentials or when MFA is asked for.
    """
    p = ctx.principal
    if p.session_id or p.type not in (PrincipalType.IAM_USER, PrincipalType.ROOT):
        raise AccessDeniedException("Cannot call GetSessionToken with session credentials")
    if req.get("SerialNumber") or req.get("TokenCode"):
        raise AccessDeniedException("MultiFactorAuthentication failed with invalid MFA one time pass code.")
    duration = int(req.get("DurationSeconds") or DEFAULT_DURATION)
    if p.type is PrincipalType.ROOT:
        duration = min(duration, ROOT_MAX_DURATION)
    key_id = store.new_access_key_id("ASIA")
    secret = store.new_secret()
    token = store.new_token()
    expires = ctx.now + duration
    await ctx.conn.execute(
        "INSERT INTO sts_user_sessions (access_key_id, account, user_id, secret, token_hash, created, expires,"
        " mfa) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        key_id,
        p.account,
        p.entity_id,
        ctx.env.keyring.wrap(secret.encode(), aad=key_id.encode()),
        token_hash(token),
        float(ctx.now),
        float(expires),
        False,
    )
    # Expired sessions are useless: prune them as new ones are made.
    await ctx.conn.execute("DELETE FROM sts_user_sessions WHERE expires < ?", float(ctx.now - 86400))
    return {
        "Credentials": {
            "AccessKeyId": key_id,
            "SecretAccessKey": secret,
            "SessionToken": token,
            "Expiration": store.dt(expires),
        }
    }


@operation("sts", "GetAccessKeyInfo", read_only=True)
async def get_access_key_info(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The account owning a long-term (``AKIA``) or temporary (``ASIA``) key of this
    installation. AWS decodes the account from any key id; fleetward's ids carry
    none, so a key it never issued is a ValidationError rather than a guess, except
    in dev mode, where any such key is the administrator of the one dev account."""
    key = req["AccessKeyId"]
    for table in ("iam_access_keys", "sts_sessions", "sts_user_sessions"):
        row = await ctx.conn.fetchone(f"SELECT account FROM {table} WHERE access_key_id = ?", key)
        if row is not None:
            return {"Account": row[0]}
    if getattr(ctx.env.settings, "dev", False):
        # Every principal of a dev server, the caller too, is in that one account.
        return {"Account": ctx.principal.account}
    raise StsValidationError(f"The access key ID {key} is not known to this installation.")
