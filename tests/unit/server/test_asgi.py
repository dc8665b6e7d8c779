"""The ASGI app's own endpoints: the health check answers anyone, admin paths loopback only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from fleetward.server.app import build_app
from fleetward.server.settings import Settings


async def _request(app: Any, method: str, path: str, client: str) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "client": (client, 40000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_health_check_answers_a_load_balancer(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path, dev=True))
    for client in ("127.0.0.1", "10.0.4.17", "2001:db8::1"):
        status, body = await _request(app, "GET", "/healthz", client)
        assert (status, orjson.loads(body)) == (200, {"status": "ok"}), client


async def test_admin_paths_refuse_other_hosts(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path, dev=True))
    for path in ("/_fleetward/reset", "/_fleetward/clock"):
        status, body = await _request(app, "POST", path, "10.0.4.17")
        assert (status, orjson.loads(body)) == (403, {"message": "loopback only"}), path
