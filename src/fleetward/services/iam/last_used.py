"""When access keys and roles were last used (GetAccessKeyLastUsed, GetRole's RoleLastUsed).

Recorded after authentication, off the request path: a background write at
most once per :data:`INTERVAL` seconds per access key in each process, so the
figures are accurate to that interval (AWS's own are accurate to hours). A
failed write is logged and forgotten: bookkeeping never fails a request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType

__all__ = ["INTERVAL", "LastUsed"]

INTERVAL = 600.0
_MAX_TRACKED = 100_000

log = logging.getLogger("fleetward.iam")


class LastUsed:
    """Notes uses of credentials and writes them in the background (see the module docstring)."""

    def __init__(self, env: Any, interval: float = INTERVAL) -> None:
        self.env = env
        self.interval = interval
        self._written: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def note(self, principal: Principal, service: str, region: str, now: float) -> None:
        """Record a use of ``principal``'s credentials unless one was recorded recently."""
        if principal.type is PrincipalType.ASSUMED_ROLE:
            target = ("role", principal.entity_id)
        elif principal.type is PrincipalType.IAM_USER and not principal.session_id:
            target = ("key", principal.access_key)
        else:
            return
        last = self._written.get(principal.access_key)
        if last is not None and now - last < self.interval:
            return
        if len(self._written) >= _MAX_TRACKED:
            self._written.clear()
        self._written[principal.access_key] = now
        task = asyncio.get_running_loop().create_task(
            self._write(principal.access_key, target, service, region, now)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(
        self, access_key: str, target: tuple[str, str], service: str, region: str, now: float
    ) -> None:
        kind, ident = target
        try:
            async with self.env.db.write() as conn:
                if kind == "role":
                    await conn.execute(
                        "UPDATE iam_roles SET last_used = ?, last_used_region = ? WHERE id = ?",
                        float(now),
                        region,
                        ident,
                    )
                else:
                    await conn.execute(
                        "UPDATE iam_access_keys SET last_used = ?, last_used_service = ?, last_used_region = ?"
                        " WHERE access_key_id = ?",
                        float(now),
                        service,
                        region,
                        ident,
                    )
        except Exception:  # bookkeeping must not fail anything
            self._written.pop(access_key, None)
            log.warning("could not record the last use of a credential", exc_info=True)
