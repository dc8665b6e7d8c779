"""AWS Signature Version 4 request verification (pure: no I/O).

The server calls ``parse_auth`` on every request (cheap: shape checks only),
looks up the secret for ``SigV4Auth.access_key``, then calls ``verify``.
Canonicalization follows botocore's signer for non-S3 services and the official
AWS test suite:

- canonical URI: the raw path, normalized (RFC 3986 remove-dot-segments,
  repeated slashes collapsed, trailing slash kept) when ``normalize_path``,
  then encoded with ``quote(path, safe="/~")`` (an already-encoded path is
  encoded again, as botocore does);
- canonical query: raw pairs percent-decoded then re-encoded with AWS's
  unreserved set, sorted by name then value (``+`` is a literal plus, never a
  space); presigned requests leave out ``X-Amz-Signature``;
- canonical headers: the signed headers only, values trimmed with inner
  whitespace runs collapsed, repeats joined with ``,``;
- payload: the SHA-256 of the body actually received. A signed
  ``X-Amz-Content-Sha256`` that disagrees with the body therefore fails as a
  signature mismatch, and ``UNSIGNED-PAYLOAD`` is refused in header form (the
  body is always authenticated). A presigned request may opt out with the
  query parameter ``X-Amz-Content-Sha256=UNSIGNED-PAYLOAD``, which it signs.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

from fleetward.auth._sigv4_model import (
    MISMATCH_MESSAGE,
    HttpRequest,
    SigV4Auth,
    SigV4Error,
    SigV4ErrorKind,
)
from fleetward.auth._sigv4_parse import ALGORITHM, parse_auth, split_query

__all__ = [
    "HttpRequest",
    "SigV4Auth",
    "SigV4Error",
    "SigV4ErrorKind",
    "SigningKeyCache",
    "canonical_request",
    "derive_signing_key",
    "parse_auth",
    "string_to_sign",
    "verify",
]

_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_QUERY_SAFE = "-_.~"
_PATH_SAFE = "/~"
_ISO_BASIC = "%Y%m%dT%H%M%SZ"


def _normalize_path(path: str) -> str:
    """botocore's ``remove_dot_segments``: drop ``.``/``..`` and empty segments."""
    if not path:
        return "/"
    if path[0] == "/" and "//" not in path and "/." not in path:
        return path
    output: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if output:
                    output.pop()
            else:
                output.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and output else ""
    return first + "/".join(output) + last


def _canonical_uri(path: str, normalize: bool) -> str:
    if normalize:
        path = _normalize_path(path)
    elif not path:
        path = "/"
    return quote(path, safe=_PATH_SAFE, errors="surrogateescape")


def _reencode(component: str) -> str:
    if "%" in component:
        raw = unquote_to_bytes(component.encode("utf-8", "surrogateescape"))
        return quote_from_bytes(raw, _QUERY_SAFE)
    return quote(component, safe=_QUERY_SAFE, errors="surrogateescape")


def _canonical_query(query: str, presigned: bool, omit_session_token: bool) -> tuple[str, bool]:
    """Return the canonical query and whether it opts out of payload signing."""
    if not query:
        return "", False
    pairs: list[tuple[str, str]] = []
    unsigned_payload = False
    for raw_name, raw_value in split_query(query):
        name = _reencode(raw_name)
        value = _reencode(raw_value)
        if presigned:
            # Encoded names of the auth parameters equal their decoded names.
            if name == "X-Amz-Signature":
                continue
            if omit_session_token and name == "X-Amz-Security-Token":
                continue
            if name.lower() == "x-amz-content-sha256" and value == _UNSIGNED_PAYLOAD:
                unsigned_payload = True
        pairs.append((name, value))
    pairs.sort()
    return "&".join([f"{name}={value}" for name, value in pairs]), unsigned_payload


def _canonical_headers(req: HttpRequest, signed_headers: tuple[str, ...]) -> str:
    values: dict[str, list[str]] = {name: [] for name in signed_headers}
    for name, value in req.headers:
        found = values.get(name.lower())
        if found is not None:
            found.append(" ".join(value.split()))
    # A signed header that is absent canonicalizes as "name:", as AWS does.
    return "".join([f"{name}:{','.join(values[name])}\n" for name in signed_headers])


def canonical_request(
    req: HttpRequest,
    auth: SigV4Auth,
    *,
    normalize_path: bool = True,
    omit_session_token: bool = False,
) -> str:
    """Build the SigV4 canonical request of ``req`` (rules in the module docstring).

    ``normalize_path=False`` is for services that sign the path as is (S3).
    ``omit_session_token=True`` leaves ``X-Amz-Security-Token`` out of a
    presigned canonical query, for signers that append the token after signing
    (AWS IoT's convention; botocore signs it, so the default is False).
    """
    query, unsigned_payload = _canonical_query(req.query, auth.presigned, omit_session_token)
    if unsigned_payload:
        payload = _UNSIGNED_PAYLOAD
    else:
        payload = hashlib.sha256(req.body).hexdigest()
    return (
        f"{req.method.upper()}\n"
        f"{_canonical_uri(req.path, normalize_path)}\n"
        f"{query}\n"
        f"{_canonical_headers(req, auth.signed_headers)}\n"
        f"{';'.join(auth.signed_headers)}\n"
        f"{payload}"
    )


def string_to_sign(auth: SigV4Auth, canonical: str) -> str:
    """The SigV4 string to sign for ``canonical`` under ``auth``'s date and scope."""
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{auth.amz_date}\n{auth.credential_scope}\n{digest}"


def derive_signing_key(secret_key: str, scope_date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key: four chained HMAC-SHA256 over the scope."""
    key = hmac.digest(f"AWS4{secret_key}".encode(), scope_date.encode(), "sha256")
    key = hmac.digest(key, region.encode(), "sha256")
    key = hmac.digest(key, service.encode(), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


class SigningKeyCache:
    """Bounded cache of derived signing keys.

    Entries are keyed by the secret itself plus the scope, so a rotated or
    different secret for the same access key never hits an old entry. When
    full, the oldest entry is evicted. Safe to share between threads (a race
    only costs a recomputation).
    """

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._keys: dict[tuple[str, str, str, str], bytes] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, secret_key: str, scope_date: str, region: str, service: str) -> bytes:
        """Return the signing key for the secret and scope, deriving it on a miss."""
        cache_key = (secret_key, scope_date, region, service)
        key = self._keys.get(cache_key)
        if key is None:
            key = derive_signing_key(secret_key, scope_date, region, service)
            while len(self._keys) >= self._max_entries:
                try:
                    self._keys.pop(next(iter(self._keys)), None)
                except (StopIteration, RuntimeError):
                    break
            self._keys[cache_key] = key
        return key


def _skew_text(sign: str, max_skew: timedelta) -> str:
    seconds = int(max_skew.total_seconds())
    if seconds % 60 == 0:
        return f"{sign} {seconds // 60} min."
    return f"{sign} {seconds} sec."


def _check_time(auth: SigV4Auth, now: datetime, max_skew: timedelta) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    now = now.astimezone(UTC)
    request_time = auth.request_time
    later_bound = now + max_skew
    if request_time > later_bound:
        raise SigV4Error(
            SigV4ErrorKind.SIGNATURE_EXPIRED,
            f"Signature not yet current: {auth.amz_date} is still later than "
            f"{later_bound.strftime(_ISO_BASIC)} "
            f"({now.strftime(_ISO_BASIC)} {_skew_text('+', max_skew)})",
        )
    if auth.presigned and auth.expires is not None:
        if now > request_time + timedelta(seconds=auth.expires):
            raise SigV4Error(SigV4ErrorKind.SIGNATURE_EXPIRED, "Request has expired")
        return
    earlier_bound = now - max_skew
    if request_time < earlier_bound:
        raise SigV4Error(
            SigV4ErrorKind.SIGNATURE_EXPIRED,
            f"Signature expired: {auth.amz_date} is now earlier than "
            f"{earlier_bound.strftime(_ISO_BASIC)} "
            f"({now.strftime(_ISO_BASIC)} {_skew_text('-', max_skew)})",
        )


def verify(
    req: HttpRequest,
    auth: SigV4Auth,
    secret_key: str,
    *,
    now: datetime,
    max_skew: timedelta,
    cache: SigningKeyCache | None = None,
    normalize_path: bool = True,
    omit_session_token: bool = False,
) -> None:
    """Check that ``auth`` (from ``parse_auth(req)``) is a valid signature by ``secret_key``.

    Returns None when the request is authentic. Raises ``SigV4Error`` with kind:

    - ``SIGNATURE_MISMATCH`` when the credential scope date differs from the
      request date (AWS's "Date in Credential scope does not match ..."), or
      the recomputed signature differs (constant-time comparison);
    - ``SIGNATURE_EXPIRED`` when the request time is outside ``now`` +/-
      ``max_skew`` (header form, or presigned without ``X-Amz-Expires``), or a
      presigned request is past ``request_time + expires`` or dated later than
      ``now + max_skew``.

    ``now`` must be timezone-aware (``ValueError`` otherwise). ``cache`` saves
    the key derivation. Checking that the scope's region and service are the
    ones this endpoint serves is the caller's job.
    """
    if auth.scope_date != auth.amz_date[:8]:
        raise SigV4Error(
            SigV4ErrorKind.SIGNATURE_MISMATCH,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
            f"date from HTTP: '{auth.scope_date}' != '{auth.amz_date[:8]}', "
            f"from '{auth.amz_date}'.",
        )
    _check_time(auth, now, max_skew)
    canonical = canonical_request(
        req, auth, normalize_path=normalize_path, omit_session_token=omit_session_token
    )
    if cache is None:
        key = derive_signing_key(secret_key, auth.scope_date, auth.region, auth.service)
    else:
        key = cache.get(secret_key, auth.scope_date, auth.region, auth.service)
    expected = hmac.new(
        key, string_to_sign(auth, canonical).encode("utf-8", "surrogateescape"), "sha256"
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), auth.signature.encode("utf-8", "replace")):
        raise SigV4Error(SigV4ErrorKind.SIGNATURE_MISMATCH, MISMATCH_MESSAGE)
