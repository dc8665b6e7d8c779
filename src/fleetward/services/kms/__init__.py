"""AWS KMS (TrentService): keys under the sealed root of trust, aliases, grants.

``setup`` puts the :class:`~fleetward.services.kms.engine.KeyService` in
``env.kms`` (other services encrypt through it as the caller), starts the
rotation / deletion worker and adds the unseal admin endpoints.
"""

from __future__ import annotations

from fleetward.services.context import ServiceEnv
from fleetward.services.kms.rewrap import KMS_WRAPPED_COLUMNS

MODULES = ("keys", "rotation", "aliases", "crypto_ops", "policies", "tags", "grants", "asymmetric")

# Root-wrapped values this package stores (see rewrap.py; rotate-root rewraps them).
WRAPPED_COLUMNS = KMS_WRAPPED_COLUMNS


async def setup(env: ServiceEnv) -> None:
    from fleetward.services.kms.admin import register_admin
    from fleetward.services.kms.engine import KeyService
    from fleetward.services.kms.workers import run_forever

    svc = KeyService(env)
    env.extras["kms"] = svc
    register_admin(env, svc)
    settings = env.settings
    interval = 1.0 if (settings.test_mode or settings.dev) else 60.0
    env.background.append(lambda: run_forever(env, svc, interval))
