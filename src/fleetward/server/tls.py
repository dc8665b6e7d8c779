"""The negotiated TLS session of each connection, for the audit trail's ``tlsDetails``.

uvicorn does not hand the TLS session to the application, so the server
runs this subclass of its HTTP protocol: on a TLS connection it adds the
session's protocol version and cipher suite (OpenSSL's names, the ones
CloudTrail records: ``TLSv1.3``, ``TLS_AES_128_GCM_SHA256``) to the state
every request scope of the connection carries, under :data:`STATE_KEY`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

__all__ = ["STATE_KEY", "TlsSessionProtocol"]

STATE_KEY = "fleetward.tls"


class TlsSessionProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        cipher = ssl_object.cipher()
        session: dict[str, Any] = {
            "tlsVersion": ssl_object.version() or "",
            "cipherSuite": cipher[0] if cipher else "",
        }
        # Each request's scope["state"] is a copy of this connection's app_state.
        self.app_state = {**self.app_state, STATE_KEY: session}  # type: ignore[has-type]
