"""The ASGI application: one listener for every service.

The AWS endpoint reads the ASGI scope directly (Starlette's Request objects
cost ~25 µs a call); a handful of admin paths sit beside it. No access log
line per request (another ~60 µs): the audit trail is the record of calls.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from fleetward.auth.sigv4 import HttpRequest
from fleetward.server.tls import STATE_KEY as TLS_STATE_KEY

__all__ = ["AsgiApp"]

log = logging.getLogger("fleetward.server")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 8 * 1024 * 1024


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AsgiApp:
    """Routes HTTP requests to the pipeline or the admin endpoints.

    ``startup``/``shutdown`` run on the ASGI lifespan events; ``admin`` maps
    (method, path) to coroutines returning (status, JSON-able body), served
    to loopback clients only; ``public`` endpoints of the same kind (the
    health check a load balancer probes) answer any client.
    """

    def __init__(
        self,
        *,
        startup: Callable[[], Awaitable[None]],
        shutdown: Callable[[], Awaitable[None]],
        admin: dict[tuple[str, str], Callable[[bytes, str], Awaitable[tuple[int, Any]]]],
        public: dict[tuple[str, str], Callable[[bytes, str], Awaitable[tuple[int, Any]]]] | None = None,
    ) -> None:
        self.pipeline: Any = None  # set by startup
        self._startup = startup
        self._shutdown = shutdown
        self.admin = admin
        self.public = public or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self._startup()
                except Exception as e:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _send(
                    send, 413, [(b"content-type", b"application/json")], b'{"message":"Request too large"}'
                )
                return
            chunks.append(chunk)
            if not msg.get("more_body"):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        method = scope["method"]
        path = scope.get("raw_path") or scope["path"].encode()
        path_s = path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path
        client = scope.get("client")
        source_ip = client[0] if client else "127.0.0.1"
        endpoint = self.public.get((method, path_s))
        if endpoint is None:
            endpoint = self.admin.get((method, path_s))
            if endpoint is not None and not _is_loopback(source_ip):
                await _send(
                    send, 403, [(b"content-type", b"application/json")], b'{"message":"loopback only"}'
                )
                return
        if endpoint is not None:
            status, payload = await endpoint(body, source_ip)
            if isinstance(payload, bytes):  # plain text (Prometheus metrics)
                await _send(send, status, [(b"content-type", b"text/plain; version=0.0.4")], payload)
                return
            await _send(send, status, [(b"content-type", b"application/json")], orjson.dumps(payload))
            return
        raw_headers = scope["headers"]
        header_list = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        headers: dict[str, str] = {}
        for k, v in header_list:
            lk = k.lower()
            headers[lk] = f"{headers[lk]},{v}" if lk in headers else v
        req = HttpRequest(
            method,
            path_s.split("?", 1)[0],
            scope.get("query_string", b"").decode("utf-8", "surrogateescape"),
            header_list,
            body,
        )
        tls = None
        if scope.get("scheme") == "https":
            # The session as TlsSessionProtocol saw it negotiated (CloudTrail's tlsDetails).
            session = (scope.get("state") or {}).get(TLS_STATE_KEY) or {}
            tls = {k: v for k, v in session.items() if v}
            tls["clientProvidedHostHeader"] = headers.get("host", "")
        resp = await self.pipeline.handle(req, headers, source_ip, tls)
        await _send(send, resp.status, resp.headers, resp.body)


def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip == "::1"
