"""The composition root: settings reach the objects it builds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fleetward.server.app import build_app
from fleetward.server.settings import Settings


@pytest.mark.parametrize(("durability", "pragma"), [("normal", 1), ("full", 2)])
async def test_durability_sets_sqlite_synchronous(tmp_path: Path, durability: str, pragma: int) -> None:
    """``durability`` is SQLite's ``synchronous`` on every connection the server
    writes with: NORMAL survives a process crash, FULL also a power loss."""
    app = build_app(Settings(data_dir=tmp_path, dev=True, durability=durability))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    seen: dict[str, int] = {}

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            db = app.pipeline.env.db
            row = await db.fetchone("PRAGMA synchronous")
            seen["read"] = row[0]
            async with db.write() as conn:
                row = await conn.fetchone("PRAGMA synchronous")
                seen["write"] = row[0]
            await inbox.put({"type": "lifespan.shutdown"})
        elif message["type"] == "lifespan.startup.failed":
            pytest.fail(message["message"])

    await inbox.put({"type": "lifespan.startup"})
    await app({"type": "lifespan"}, receive, send)
    assert seen == {"read": pragma, "write": pragma}
