"""AWS IAM (Query protocol) and the identity plumbing of every call.

``setup`` builds the identity :class:`~fleetward.services.iam.directory.Directory`
(``env.iam``: cached credentials and compiled policies), and, unless the
server runs in ``--dev`` mode, the SigV4 :class:`Authenticator`
(``env.authenticator``) and the policy :class:`Authorizer` (``env.authorizer``)
the pipeline uses on every request.
"""

from __future__ import annotations

from fleetward.services.context import ServiceEnv
from fleetward.services.kms.rewrap import WrappedColumn

MODULES = (
    "users",
    "groups",
    "roles",
    "policies",
    "inline",
    "simulator",
    "instance_profiles",
    "authorization_details",
    "account_summary",
)


def _key_aad(access_key_id: str) -> bytes:
    return access_key_id.encode()


# Secrets wrapped by the root keyring (re-wrapped by `fleetward operator rotate-root`).
WRAPPED_COLUMNS = (
    WrappedColumn("iam_access_keys", ("access_key_id",), "secret", ("access_key_id",), _key_aad),
    WrappedColumn("sts_sessions", ("access_key_id",), "secret", ("access_key_id",), _key_aad),
    WrappedColumn("sts_user_sessions", ("access_key_id",), "secret", ("access_key_id",), _key_aad),
)


async def setup(env: ServiceEnv) -> None:
    from fleetward.services.iam.authn import Authenticator
    from fleetward.services.iam.authz import Authorizer
    from fleetward.services.iam.directory import Directory

    directory = Directory(env)
    env.extras["iam"] = directory
    if getattr(env.settings, "dev", False):
        return
    env.extras["authenticator"] = Authenticator(directory)
    env.extras["authorizer"] = Authorizer(directory)
