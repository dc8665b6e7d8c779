"""Loopback admin endpoints for the root of trust.

- ``GET /_fleetward/status``: ``{"sealed": bool, "seal_mode": "keyfile"|"passphrase"}``
- ``POST /_fleetward/unseal`` ``{"passphrase": "..."}``: opens a passphrase
  seal; 400 with a clear message (still sealed) when the passphrase is wrong.
- ``POST /_fleetward/reload-keyring`` (``{"passphrase": ...}`` for a
  passphrase seal): re-reads ``root.json`` after ``fleetward operator
  rotate-root`` so this server wraps new values under the newest root. (A
  key-file server also reloads by itself when it meets a value wrapped
  under a root version it does not know yet.)

A server with several worker processes must be unsealed once per worker.
"""

from __future__ import annotations

import asyncio
import logging
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


def register_admin(env: ServiceEnv, svc: KeyService) -> None:
    data_dir = env.settings.data_dir
    lock = asyncio.Lock()

    def mode() -> str | None:
        try:
            return str(seal.seal_mode(data_dir))
        except CryptoError:
            return None

    async def status(body: bytes, ip: str) -> tuple[int, Any]:
        ring = env.extras.get("keyring")
        out: dict[str, Any] = {"sealed": ring is None, "seal_mode": mode()}
        if ring is not None:
            out["root_version"] = ring.current_version
        return 200, out

    async def unseal(body: bytes, ip: str) -> tuple[int, Any]:
        async with lock:
            if env.extras.get("keyring") is not None:
                return 200, {"sealed": False, "message": "fleetward is already unsealed"}
            passphrase = _passphrase(body)
            if not passphrase:
                return 400, {"sealed": True, "message": 'a JSON body {"passphrase": "..."} is required'}
            try:
                ring = await asyncio.to_thread(seal.unseal, data_dir, passphrase=passphrase)
            except CryptoError as e:
                log.warning("unseal attempt failed: %s", e)
                return 400, {"sealed": True, "message": f"unseal failed: {e}; fleetward is still sealed"}
            env.extras["keyring"] = ring
            log.warning("fleetward unsealed (root version %d)", ring.current_version)
            return 200, {"sealed": False, "message": "fleetward is unsealed"}

    async def reload_keyring(body: bytes, ip: str) -> tuple[int, Any]:
        if env.extras.get("keyring") is None:
            return 409, {"sealed": True, "message": "fleetward is sealed: unseal it first"}
        if await svc.reload_keyring(_passphrase(body)):
            return 200, {"sealed": False, "root_version": env.extras["keyring"].current_version}
        return 400, {"sealed": False, "message": "the root of trust could not be re-read"}

    env.admin[("GET", "/_fleetward/status")] = status
    env.admin[("POST", "/_fleetward/unseal")] = unseal
    env.admin[("POST", "/_fleetward/reload-keyring")] = reload_keyring
