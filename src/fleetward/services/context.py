"""What an operation gets: the call's context and the application's services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from fleetward.auth.principal import Principal
from fleetward.clock import Clock
from fleetward.storage.db import Conn, Database

__all__ = ["CallContext", "ServiceEnv", "emit_event"]


@dataclass(slots=True)
class ServiceEnv:
    """Application-wide collaborators, built once by ``server/app.py``.

    Feature services hang their engines here (``kms``, ``iam``...) so that
    one service can call another in-process (Parameter Store -> KMS).
    """

    db: Database
    clock: Clock
    settings: Any
    region: str = "us-east-1"
    extras: dict[str, Any] = field(default_factory=dict)
    # Coroutine factories started after set-up, cancelled at shut-down.
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Loopback-only admin endpoints: (method, path) -> async (body, source_ip) -> (status, JSON-able).
    admin: dict[tuple[str, str], Callable[[bytes, str], Awaitable[tuple[int, Any]]]] = field(
        default_factory=dict
    )

    def __getattr__(self, name: str) -> Any:
        try:
            return self.extras[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(slots=True)
class CallContext:
    """One API call as an operation sees it.

    ``conn`` is the call's connection: inside the write transaction for a
    mutating operation, a read connection otherwise.
    """

    request_id: str
    principal: Principal
    region: str
    env: ServiceEnv
    conn: Conn
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    now: float = 0.0
    # Set by operations for the audit record (CloudTrail "resources").
    resources: list[dict[str, str]] = field(default_factory=list)
    # Extra audit fields (additionalEventData) an operation may add.
    audit_extra: dict[str, Any] = field(default_factory=dict)
    # Audit records of calls made on the caller's behalf (Parameter Store ->
    # KMS, ``invokedBy``): the pipeline writes them with the call's own
    # record, in its transaction or its group-commit batch, also when the
    # call fails.
    related_records: list[Any] = field(default_factory=list)

    @property
    def account(self) -> str:
        return self.principal.account


async def emit_event(
    ctx: CallContext, source: str, detail_type: str, resources: list[str], detail: dict[str, Any]
) -> None:
    """Queue an EventBridge-style event in the outbox, inside the call's transaction.

    Delivered after commit by a background worker: a crash delays it, never loses it.
    """
    await ctx.conn.execute(
        "INSERT INTO outbox (account, region, source, detail_type, resources, detail, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        ctx.account,
        ctx.region,
        source,
        detail_type,
        orjson.dumps(resources).decode(),
        orjson.dumps(detail).decode(),
        ctx.now,
    )
