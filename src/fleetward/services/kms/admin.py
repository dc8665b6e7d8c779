"""Loopback admin endpoints for the root of trust.

- ``GET /_fleetward/status``: ``{"sealed": bool, "seal_mode": "keyfile"|"passphrase"}``
- ``POST /_fleetward/unseal`` ``{"passphrase": "..."}``: opens a passphrase
  seal; 400 with a clear message (still sealed) when the passphrase is wrong.
- ``POST /_fleetward/reload-keyring`` (``{"passphrase": ...}`` for a
  passphrase seal, ``"root_version": n`` to skip a worker that already has
  it): re-reads ``root.json`` after ``fleetward operator rotate-root`` so
  this server wraps new values under the newest root. (A key-file server
  also reloads by itself when it meets a value wrapped under a root version
  it does not know yet.)

Every answer names the worker process that gave it (``"worker"``: its pid)
and how many there are (``"workers"``): each worker holds its own keyring,
so ``fleetward unseal`` and ``operator rotate-root`` repeat their request
(a new connection each time, which the kernel hands to any worker) until
every worker has answered.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import orjson

from fleetward.crypto import seal
from fleetward.crypto.errors import CryptoError
from fleetward.services.context import ServiceEnv
from fleetward.services.kms.engine import KeyService

__all__ = ["register_admin"]

log = logging.getLogger("fleetward.kms")


def _passphrase(body: bytes) -> str | None:
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return None
    value = doc.get("passphrase") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _root_version(body: bytes) -> int | None:
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return None
    value = doc.get("root_version") if isinstance(doc, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def register_admin(env: ServiceEnv, svc: KeyService) -> None:
    data_dir = env.settings.data_dir
    lock = asyncio.Lock()
    me = {"worker": os.getpid(), "workers": max(1, int(getattr(env.settings, "workers", 1) or 1))}

    def mode() -> str | None:
        try:
            return str(seal.seal_mode(data_dir))
        except CryptoError:
            return None

    async def status(body: bytes, ip: str) -> tuple[int, Any]:
        ring = env.extras.get("keyring")
        out: dict[str, Any] = {"sealed": ring is None, "seal_mode": mode(), **me}
        if ring is not None:
            out["root_version"] = ring.current_version
        return 200, out

    async def unseal(body: bytes, ip: str) -> tuple[int, Any]:
        async with lock:
            if env.extras.get("keyring") is not None:
                return 200, {"sealed": False, "message": "fleetward is already unsealed", **me}
            passphrase = _passphrase(body)
            if not passphrase:
                return 400, {
                    "sealed": True,
                    "message": 'a JSON body {"passphrase": "..."} is required',
                    **me,
                }
            try:
                ring = await asyncio.to_thread(seal.unseal, data_dir, passphrase=passphrase)
            except CryptoError as e:
                log.warning("unseal attempt failed: %s", e)
                return 400, {
                    "sealed": True,
                    "message": f"unseal failed: {e}; fleetward is still sealed",
                    **me,
                }
            env.extras["keyring"] = ring
            log.warning("fleetward unsealed (root version %d)", ring.current_version)
            return 200, {"sealed": False, "message": "fleetward is unsealed", **me}

    async def reload_keyring(body: bytes, ip: str) -> tuple[int, Any]:
        ring = env.extras.get("keyring")
        if ring is None:
            return 409, {"sealed": True, "message": "fleetward is sealed: unseal it first", **me}
        wanted = _root_version(body)
        if (wanted is not None and wanted in ring.versions) or await svc.reload_keyring(_passphrase(body)):
            return 200, {"sealed": False, "root_version": env.extras["keyring"].current_version, **me}
        return 400, {"sealed": False, "message": "the root of trust could not be re-read", **me}

    env.admin[("GET", "/_fleetward/status")] = status
    env.admin[("POST", "/_fleetward/unseal")] = unseal
    env.admin[("POST", "/_fleetward/reload-keyring")] = reload_keyring
