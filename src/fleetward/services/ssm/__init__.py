"""ssm service: Parameter Store (parameters, history and labels, queries, tags, policies) and service settings."""

from __future__ import annotations

from fleetward.services.context import ServiceEnv

MODULES: tuple[str, ...] = (
    "parameters",
    "parameter_queries",
    "parameter_history",
    "tagging",
    "service_settings",
)


async def setup(env: ServiceEnv) -> None:
    """Start the parameter-policy worker (Expiration and notifications)."""
    from fleetward.services.ssm.parameter_policies import policy_worker

    env.background.append(policy_worker(env))
