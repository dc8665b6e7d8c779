"""Parsing the SigV4 parameters of a request (``parse_auth``); cheap, no crypto."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from fleetward.auth._sigv4_model import HttpRequest, SigV4Auth, SigV4Error, SigV4ErrorKind

__all__ = ["ALGORITHM", "parse_amz_date", "parse_auth", "split_query"]

ALGORITHM = "AWS4-HMAC-SHA256"
_TERMINATOR = "aws4_request"
_MAX_PRESIGN_EXPIRES = 604800
_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
_INCOMPLETE = SigV4ErrorKind.INCOMPLETE


def _incomplete(message: str) -> SigV4Error:
    return SigV4Error(_INCOMPLETE, message)


def split_query(query: str) -> list[tuple[str, str]]:
    """Split a raw query string into raw ``(name, value)`` pairs.

    A segment without ``=`` has an empty value; empty segments are skipped.
    Nothing is decoded.
    """
    pairs: list[tuple[str, str]] = []
    for segment in query.split("&"):
        if segment:
            name, _, value = segment.partition("=")
            pairs.append((name, value))
    return pairs


def parse_amz_date(value: str) -> datetime:
    """Parse ``YYYYMMDDTHHMMSSZ`` to an aware UTC datetime.

    Raises ``SigV4Error(INCOMPLETE)`` with AWS's message on any other shape.
    """
    digits = value[:8] + value[9:15]
    if len(value) == 16 and value[8] == "T" and value[15] == "Z" and digits.isascii() and digits.isdigit():
        try:
            # The shape is checked above; fromisoformat (C) parses it fast.
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise _incomplete(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        raise _incomplete(
            f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise _incomplete("Credential should be scoped to a valid region.")
    access_key, scope_date, region, service, terminator = parts
    if terminator != _TERMINATOR:
        raise _incomplete(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )
    if not region:
        raise _incomplete("Credential should be scoped to a valid region.")
    if not service:
        raise _incomplete("Credential should be scoped to correct service.")
    if len(scope_date) != 8 or not (scope_date.isascii() and scope_date.isdigit()):
        raise _incomplete(f"Credential should be scoped to a valid date, not '{scope_date}'.")
    return access_key, scope_date, region, service


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.lower().split(";"))
    if "host" not in names:
        raise _incomplete(_HOST_NOT_SIGNED)
    return names


def parse_auth(req: HttpRequest) -> SigV4Auth:
    """Extract the SigV4 parameters of ``req`` (header or presigned-query form).

    Checks shape only: no signature, time window or credential checks (that is
    ``verify``). Raises ``SigV4Error`` with kind ``MISSING`` when the request
    carries neither an ``Authorization`` header nor an ``X-Amz-Algorithm``
    query parameter, and ``INCOMPLETE`` (AWS's ``IncompleteSignature`` wording)
    when the parameters are malformed: missing ``Credential`` /
    ``SignedHeaders`` / ``Signature`` / date, an unsupported algorithm, a bad
    credential scope or ``X-Amz-Date``, ``host`` not signed, ``X-Amz-Expires``
    outside 1..604800, or both forms at once.
    """
    authorization: str | None = None
    amz_date: str | None = None
    http_date: str | None = None
    token: str | None = None
    for name, value in req.headers:
        lname = name.lower()
        if lname == "authorization":
            if authorization is None:
                authorization = value
        elif lname == "x-amz-date":
            if amz_date is None:
                amz_date = value.strip()
        elif lname == "date":
            if http_date is None:
                http_date = value.strip()
        elif lname == "x-amz-security-token" and token is None:
            token = value.strip()

    query_params: dict[str, str] | None = None
    if "X-Amz-Algorithm" in req.query:
        query_params = {}
        for raw_name, raw_value in split_query(req.query):
            query_params.setdefault(unquote(raw_name), unquote(raw_value))
        if "X-Amz-Algorithm" not in query_params:
            query_params = None

    if authorization is None:
        if query_params is None:
            raise SigV4Error(SigV4ErrorKind.MISSING, "Missing Authentication Token")
        return _parse_presigned(query_params)
    if query_params is not None:
        raise _incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified"
        )
    return _parse_header(authorization, amz_date, http_date, token)


def _parse_header(
    authorization: str, amz_date: str | None, http_date: str | None, token: str | None
) -> SigV4Auth:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for component in rest.split(","):
        component = component.strip()
        if not component:
            continue
        key, eq, value = component.partition("=")
        if not eq:
            raise _incomplete(
                f"'{component}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{authorization}'."
            )
        fields.setdefault(key, value)
    credential = fields.get("Credential")
    signed = fields.get("SignedHeaders")
    signature = fields.get("Signature")
    if not credential or not signed or not signature or (amz_date is None and http_date is None):
        problems = [
            f"Authorization header requires '{key}' parameter."
            for key, value in (
                ("Credential", credential),
                ("Signature", signature),
                ("SignedHeaders", signed),
            )
            if not value
        ]
        if amz_date is None and http_date is None:
            problems.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            )
        problems.append(f"Authorization={authorization}")
        raise _incomplete(" ".join(problems))
    access_key, scope_date, region, service = _parse_credential(credential)
    signed_headers = _parse_signed_headers(signed)
    if amz_date is not None:
        request_time = parse_amz_date(amz_date)
    else:
        request_time = _parse_http_date(http_date or "")
        amz_date = request_time.strftime("%Y%m%dT%H%M%SZ")
    return SigV4Auth(
        access_key=access_key,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=signature,
        amz_date=amz_date,
        request_time=request_time,
        session_token=token,
        presigned=False,
        expires=None,
    )


def _parse_presigned(params: dict[str, str]) -> SigV4Auth:
    algorithm = params["X-Amz-Algorithm"]
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'.")
    required = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    missing = [name for name in required if not params.get(name)]
    if missing:
        problems = [f"AWS query-string parameters must include '{name}'." for name in missing]
        problems.append("Re-examine the query-string parameters.")
        raise _incomplete(" ".join(problems))
    access_key, scope_date, region, service = _parse_credential(params["X-Amz-Credential"])
    signed_headers = _parse_signed_headers(params["X-Amz-SignedHeaders"])
    amz_date = params["X-Amz-Date"]
    request_time = parse_amz_date(amz_date)
    expires: int | None = None
    raw_expires = params.get("X-Amz-Expires")
    if raw_expires is not None:
        if not (raw_expires.isascii() and raw_expires.isdigit()) or len(raw_expires) > 12:
            raise _incomplete(f"X-Amz-Expires should be a number, not '{raw_expires}'.")
        expires = int(raw_expires)
        if expires < 1:
            raise _incomplete("X-Amz-Expires must be a positive number of seconds")
        if expires > _MAX_PRESIGN_EXPIRES:
            raise _incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800")
    return SigV4Auth(
        access_key=access_key,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=params["X-Amz-Signature"],
        amz_date=amz_date,
        request_time=request_time,
        session_token=params.get("X-Amz-Security-Token"),
        presigned=True,
        expires=expires,
    )
