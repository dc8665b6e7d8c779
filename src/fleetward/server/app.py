"""The composition root: builds the whole object graph from the settings.

Nothing is created at import time. :func:`create_app` returns the ASGI app;
its lifespan start-up migrates the database, opens the stores, unseals the
root of trust (key-file mode) and wires the pipeline.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from typing import Any

from fleetward.audit.writer import AuditWriter
from fleetward.clock import Clock
from fleetward.protocol.model import ServiceCatalog
from fleetward.protocol.registry import Registry
from fleetward.server.asgi import AsgiApp
from fleetward.server.devauth import DevAuthenticator, DevAuthorizer
from fleetward.server.pipeline import Pipeline
from fleetward.server.settings import Settings, load_settings
from fleetward.services.context import ServiceEnv
from fleetward.storage import migrate
from fleetward.storage.db import open_database

__all__ = ["SERVICES", "SERVICE_PACKAGES", "build_app", "create_app"]

log = logging.getLogger("fleetward.server")

SERVICES = (
    "ssm",
    "kms",
    "iam",
    "sts",
    "logs",
    "events",
    "cloudtrail",
    "config",
    "resourcegroupstaggingapi",
    "support",
    "resource-groups",
)

# Service packages, in set-up order. Each package's __init__ may define
# MODULES (names of its modules holding @operation providers) and
# ``async def setup(env) -> None`` (puts its engines into ``env.extras`` and
# its background workers into ``env.background``).
SERVICE_PACKAGES = ("iam", "sts", "kms", "ssm", "cloudtrail")

_catalog: ServiceCatalog | None = None


def catalog() -> ServiceCatalog:
    """The service catalog (models load once per process, on first use)."""
    global _catalog
    if _catalog is None:
        _catalog = ServiceCatalog(SERVICES)
    return _catalog


def build_registry(packages: tuple[str, ...] = SERVICE_PACKAGES) -> Registry:
    reg = Registry(catalog())
    for pkg in packages:
        mod = importlib.import_module(f"fleetward.services.{pkg}")
        for name in getattr(mod, "MODULES", ()):
            reg.add_module(importlib.import_module(f"fleetward.services.{pkg}.{name}"))
    return reg


async def setup_services(env: ServiceEnv, packages: tuple[str, ...] = SERVICE_PACKAGES) -> None:
    for pkg in packages:
        setup = getattr(importlib.import_module(f"fleetward.services.{pkg}"), "setup", None)
        if setup is not None:
            await setup(env)


def build_app(settings: Settings) -> AsgiApp:
    """The ASGI app for ``settings`` (state is built in the lifespan start-up)."""
    settings.check()
    clock = Clock()
    state: dict[str, Any] = {}

    async def startup() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        url = settings.db_url
        await asyncio.to_thread(migrate.upgrade, url)
        db = await open_database(url, synchronous=settings.durability.upper())
        env = ServiceEnv(db=db, clock=clock, settings=settings, region=settings.region)
        env.extras["keyring"] = _load_keyring(settings)
        audit = AuditWriter(db, enabled=settings.audit)
        env.extras["audit"] = audit
        registry = build_registry()
        await setup_services(env)
        if settings.dev or "authenticator" not in env.extras:
            env.extras["authenticator"] = DevAuthenticator(env.extras.get("iam"))
            env.extras["authorizer"] = DevAuthorizer()
        app.pipeline = Pipeline(
            catalog=catalog(),
            registry=registry,
            authenticator=env.extras["authenticator"],
            authorizer=env.extras["authorizer"],
            audit=audit,
            env=env,
            clock=clock,
        )
        app.admin.update(env.admin)
        tasks = [asyncio.ensure_future(worker()) for worker in env.background]
        # Everything built so far (models, compiled readers, policies) lives
        # for the whole process: keep it out of the collector's full sweeps,
        # which otherwise pause the event loop for milliseconds (p99 latency).
        gc.collect()
        gc.freeze()
        state.update(db=db, audit=audit, env=env, registry=registry, tasks=tasks)

    async def shutdown() -> None:
        for task in state.get("tasks", ()):
            task.cancel()
        audit = state.get("audit")
        if audit is not None:
            await audit.drain()
        db = state.get("db")
        if db is not None:
            await db.close()

    async def healthz(body: bytes, ip: str) -> tuple[int, Any]:
        return 200, {"status": "ok"}

    async def reset(body: bytes, ip: str) -> tuple[int, Any]:
        db = state["db"]
        async with db.write() as conn:
            for table in await _tables(db):
                await conn.execute(f"DELETE FROM {table}")
        if "iam" in state["env"].extras:
            state["env"].extras["iam"].invalidate()  # no cached credential outlives a reset
        return 200, {"reset": True}

    async def set_clock(body: bytes, ip: str) -> tuple[int, Any]:
        import orjson

        clock.offset = float(orjson.loads(body or b"{}").get("offset", 0.0))
        return 200, {"offset": clock.offset}

    admin: dict[tuple[str, str], Any] = {}
    if settings.dev:
        admin[("POST", "/_fleetward/reset")] = reset
    if settings.test_mode or settings.dev:
        admin[("POST", "/_fleetward/clock")] = set_clock
    # Load balancers probe the health check from their own addresses.
    app = AsgiApp(startup=startup, shutdown=shutdown, admin=admin, public={("GET", "/healthz"): healthz})
    return app


def _load_keyring(settings: Settings) -> Any:
    """The unsealed root of trust, or None while a passphrase seal is closed.

    A dev-mode data directory is initialised on the fly (key-file seal);
    any other server needs ``fleetward init`` first.
    """
    from fleetward.crypto import seal

    if not seal.is_initialized(settings.data_dir):
        if not settings.dev:
            raise RuntimeError(f"{settings.data_dir} is not initialised: run `fleetward init` first")
        return seal.init_root(settings.data_dir)
    if seal.seal_mode(settings.data_dir) == seal.SealMode.KEYFILE:
        return seal.unseal(settings.data_dir)
    return None


async def _tables(db: Any) -> list[str]:
    if db.dialect == "sqlite":
        rows = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        rows = await db.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return [r[0] for r in rows if r[0] != "alembic_version"]


def create_app() -> AsgiApp:
    """Factory for uvicorn workers: settings come from FLEETWARD_* variables."""
    return build_app(load_settings())
