"""Values and errors of SigV4 verification (see ``fleetward.auth.sigv4``).

Exception tree::

    SigV4Error            one class; ``kind`` says which AWS error it maps to
      kind=MISSING        -> MissingAuthenticationToken
      kind=INCOMPLETE     -> IncompleteSignature
      kind=SIGNATURE_MISMATCH -> InvalidSignatureException / SignatureDoesNotMatch
      kind=SIGNATURE_EXPIRED  -> InvalidSignatureException (expired)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "MISMATCH_MESSAGE",
    "HttpRequest",
    "SigV4Auth",
    "SigV4Error",
    "SigV4ErrorKind",
]

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class SigV4ErrorKind(StrEnum):
    """Why a request failed authentication; the server maps each to an AWS error code."""

    MISSING = "missing"
    INCOMPLETE = "incomplete"
    SIGNATURE_MISMATCH = "mismatch"
    SIGNATURE_EXPIRED = "expired"


class SigV4Error(Exception):
    """A request failed SigV4 authentication.

    ``kind`` classifies the failure; ``message`` is AWS's wording for it and is
    safe to return to the caller (it never contains secret material).
    """

    kind: SigV4ErrorKind
    message: str

    def __init__(self, kind: SigV4ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"SigV4Error({self.kind!s}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request exactly as received.

    ``path`` is the raw request target path (still percent-encoded as the client
    sent it), ``query`` the raw query string without ``?``. ``headers`` keeps
    the received order; names in any case, a name may repeat. Decode the path
    and query bytes as UTF-8 with ``surrogateescape`` (re-encoded the same way,
    so byte exact) and header bytes as latin-1, as ASGI servers do (http.client
    sends botocore's str header values as latin-1).
    """

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class SigV4Auth:
    """The SigV4 parameters of a request, as parsed by ``parse_auth``.

    ``signed_headers`` are lowercased, in the order the client listed them.
    ``amz_date`` is ``YYYYMMDDTHHMMSSZ``; ``request_time`` the same instant as an
    aware UTC datetime. ``expires`` is set only for presigned requests that
    carry ``X-Amz-Expires``.
    """

    access_key: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    request_time: datetime
    session_token: str | None
    presigned: bool
    expires: int | None

    @property
    def credential_scope(self) -> str:
        """``<date>/<region>/<service>/aws4_request``."""
        return f"{self.scope_date}/{self.region}/{self.service}/aws4_request"
