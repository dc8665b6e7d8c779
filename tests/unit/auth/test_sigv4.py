"""SigV4 verification against botocore's own signer, parse errors and the key cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetward.auth.sigv4 import (
    HttpRequest,
    SigningKeyCache,
    SigV4Error,
    SigV4ErrorKind,
    derive_signing_key,
    parse_auth,
    verify,
)

ACCESS_KEY = "AKIAFLEETWARDTEST01"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDH+session/token=="
ENDPOINT = "https://ssm.us-east-1.amazonaws.com"
SKEW = timedelta(minutes=5)
JSON_HEADERS = {
    "X-Amz-Target": "AmazonSSM.GetParameter",
    "Content-Type": "application/x-amz-json-1.1",
}


def _to_http(prepared: Any) -> HttpRequest:
    """What the server receives for a prepared botocore request."""
    parts = urlsplit(prepared.url)
    headers = [(str(k), str(v)) for k, v in prepared.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("Host", parts.netloc))  # what the HTTP client adds
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(prepared.method, parts.path, parts.query, tuple(headers), body)


def sign(
    method: str = "POST",
    url_path: str = "/",
    query: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    token: str | None = None,
    presign: bool = False,
    signer_class: Any = None,
    endpoint: str = ENDPOINT,
    service: str = "ssm",
    region: str = "us-east-1",
    expires: int = 3600,
) -> HttpRequest:
    """Sign a request the way botocore's endpoint does and return it as received."""
    request_dict: dict[str, Any] = {
        "url_path": url_path,
        "query_string": list(query.items()) if isinstance(query, Mapping) else list(query),
        "method": method,
        "headers": dict(headers or {}),
        "body": body,
    }
    prepare_request_dict(request_dict, endpoint_url=endpoint)
    request = create_request_object(request_dict)
    return _sign_request(
        request,
        token=token,
        presign=presign,
        signer_class=signer_class,
        service=service,
        region=region,
        expires=expires,
    )


def _sign_request(
    request: AWSRequest,
    *,
    token: str | None = None,
    presign: bool = False,
    signer_class: Any = None,
    service: str = "ssm",
    region: str = "us-east-1",
    expires: int = 3600,
) -> HttpRequest:
    credentials = Credentials(ACCESS_KEY, SECRET, token)
    if signer_class is not None:
        signer = signer_class(credentials, service, region, expires=expires)
    elif presign:
        signer = SigV4QueryAuth(credentials, service, region, expires=expires)
    else:
        signer = SigV4Auth(credentials, service, region)
    signer.add_auth(request)
    return _to_http(request.prepare())


def check(req: HttpRequest, secret: str = SECRET, **kwargs: Any) -> None:
    verify(req, parse_auth(req), secret, now=datetime.now(UTC), max_skew=SKEW, **kwargs)


def rejected(req: HttpRequest, secret: str = SECRET, **kwargs: Any) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        check(req, secret, **kwargs)
    return caught.value


# --- round trips with botocore ------------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
def test_json_post(token: str | None) -> None:
    body = json.dumps({"Name": "/app/db/password", "WithDecryption": True}).encode()
    req = sign(headers=JSON_HEADERS, body=body, token=token)
    auth = parse_auth(req)
    assert auth.session_token == token
    assert (auth.access_key, auth.region, auth.service) == (ACCESS_KEY, "us-east-1", "ssm")
    assert auth.presigned is False and auth.expires is None
    assert "x-amz-target" in auth.signed_headers
    check(req)
    assert rejected(req, SECRET + "x").kind is SigV4ErrorKind.SIGNATURE_MISMATCH


def test_form_post_query_protocol() -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    req = sign(
        headers=headers,
        body=body,
        endpoint="https://sts.amazonaws.com",
        service="sts",
        token=TOKEN,
    )
    check(req)
    tampered = HttpRequest(req.method, req.path, req.query, req.headers, body.replace(b"Caller", b"Callex"))
    assert rejected(tampered).kind is SigV4ErrorKind.SIGNATURE_MISMATCH


ODD_QUERY = [
    ("b", "2"),
    ("a", "x y"),
    ("a", "1"),
    ("\u00fc", "\u1234"),
    ("empty", ""),
    ("symbols", "!*'();:@&=+$,/?#[]%"),
    ("tilde", "~-._"),
]


@pytest.mark.parametrize(
    "url_path",
    ["/", "/foo%20bar/", "/%E1%88%B4/x", "/a/b/../c", "/with space/and\u00fcnicode", "//double//"],
)
@pytest.mark.parametrize("presign", [False, True], ids=["header", "presigned"])
def test_get_with_odd_query_and_path(url_path: str, presign: bool) -> None:
    req = sign("GET", url_path, ODD_QUERY, endpoint="http://localhost:8080", presign=presign)
    assert req.path == url_path  # botocore puts the path on the wire as given
    check(req)
    moved = HttpRequest(req.method, req.path + "x", req.query, req.headers, req.body)
    assert rejected(moved).kind is SigV4ErrorKind.SIGNATURE_MISMATCH


def test_raw_query_with_key_without_value() -> None:
    request = AWSRequest(method="GET", url="https://ssm.us-east-1.amazonaws.com/?flag&b=1")
    req = _sign_request(request)
    assert req.query == "flag&b=1"
    check(req)


@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
def test_presigned_get(token: str | None) -> None:
    req = sign("GET", "/", {"Action": "GetCallerIdentity"}, token=token, presign=True, expires=900)
    auth = parse_auth(req)
    assert auth.presigned is True and auth.expires == 900
    assert auth.session_token == token
    check(req)
    later = auth.request_time + timedelta(seconds=901)
    with pytest.raises(SigV4Error) as caught:
        verify(req, auth, SECRET, now=later, max_skew=SKEW)
    assert caught.value.kind is SigV4ErrorKind.SIGNATURE_EXPIRED
    assert caught.value.message == "Request has expired"
    verify(req, auth, SECRET, now=auth.request_time + timedelta(seconds=900), max_skew=SKEW)


def test_presigned_unsigned_payload_opt_in() -> None:
    # The client signs "X-Amz-Content-Sha256=UNSIGNED-PAYLOAD" in the query and
    # "UNSIGNED-PAYLOAD" as the payload line (as botocore's S3 presigner does);
    # the URL then accepts any body.
    request = AWSRequest(
        method="PUT",
        url="https://ssm.us-east-1.amazonaws.com/?X-Amz-Content-Sha256=UNSIGNED-PAYLOAD",
    )
    req = _sign_request(request, signer_class=S3SigV4QueryAuth)
    check(req)
    check(HttpRequest(req.method, req.path, req.query, req.headers, b"any body"))
    # Without the signed opt-in the payload line is the body's hash.
    without_opt_in = AWSRequest(method="PUT", url=ENDPOINT + "/")
    assert (
        rejected(_sign_request(without_opt_in, signer_class=S3SigV4QueryAuth)).kind
        is SigV4ErrorKind.SIGNATURE_MISMATCH
    )


def test_content_sha256_header_must_match_body() -> None:
    wrong = hashlib.sha256(b"other").hexdigest()
    headers = {**JSON_HEADERS, "X-Amz-Content-SHA256": wrong}
    req = sign(headers=headers, body=b"{}")
    assert "x-amz-content-sha256" in parse_auth(req).signed_headers
    assert rejected(req).kind is SigV4ErrorKind.SIGNATURE_MISMATCH
    right = hashlib.sha256(b"{}").hexdigest()
    check(sign(headers={**JSON_HEADERS, "X-Amz-Content-SHA256": right}, body=b"{}"))


def test_unsigned_payload_refused_in_header_form() -> None:
    headers = {**JSON_HEADERS, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    assert rejected(sign(headers=headers, body=b"{}")).kind is SigV4ErrorKind.SIGNATURE_MISMATCH


def test_date_header_instead_of_x_amz_date() -> None:
    req = sign(headers={**JSON_HEADERS, "Date": "placeholder"}, body=b"{}")
    names = {name.lower() for name, _ in req.headers}
    assert "x-amz-date" not in names and "date" in names
    auth = parse_auth(req)
    assert auth.amz_date == auth.request_time.strftime("%Y%m%dT%H%M%SZ")
    check(req)


def test_signature_is_checked_case_sensitively() -> None:
    req = sign(headers=JSON_HEADERS, body=b"{}")
    upper = tuple(
        (n, v.replace(v.rpartition("=")[2], v.rpartition("=")[2].upper())) if n == "Authorization" else (n, v)
        for n, v in req.headers
    )
    altered = HttpRequest(req.method, req.path, req.query, upper, req.body)
    assert rejected(altered).kind is SigV4ErrorKind.SIGNATURE_MISMATCH


# --- property: botocore-signed requests verify; any body byte flip fails ------

_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
_VALUE_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(min_size=1, max_size=512),
    extra=st.dictionaries(
        st.text(_TOKEN_CHARS, min_size=1, max_size=12).map(lambda s: f"x-test-{s}"),
        st.text(_VALUE_CHARS, max_size=40),
        max_size=5,
    ),
    segments=st.lists(st.text(min_size=1, max_size=10), max_size=4),
    query=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=4),
    flip_at=st.integers(min_value=0),
    flip_with=st.integers(min_value=1, max_value=255),
)
def test_property_botocore_signed_requests_verify(
    body: bytes,
    extra: dict[str, str],
    segments: list[str],
    query: list[tuple[str, str]],
    flip_at: int,
    flip_with: int,
) -> None:
    # Path segments percent-encoded as botocore's REST serializers put them on the wire.
    path = "/" + "/".join(percent_encode(s) for s in segments)
    req = sign("POST", path, [(k, v) for k, v in query if k], {**JSON_HEADERS, **extra}, body)
    check(req)
    index = flip_at % len(body)
    flipped = bytearray(body)
    flipped[index] ^= flip_with
    tampered = HttpRequest(req.method, req.path, req.query, req.headers, bytes(flipped))
    assert rejected(tampered).kind is SigV4ErrorKind.SIGNATURE_MISMATCH


# --- parse errors -------------------------------------------------------------

_GOOD_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/ssm/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "ab" * 32
)


def _header_request(authorization: str | None, date: str | None = "20150830T123600Z") -> HttpRequest:
    headers = [("Host", "ssm.us-east-1.amazonaws.com")]
    if date is not None:
        headers.append(("X-Amz-Date", date))
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return HttpRequest("POST", "/", "", tuple(headers), b"{}")


def _incomplete(req: HttpRequest) -> str:
    with pytest.raises(SigV4Error) as caught:
        parse_auth(req)
    assert caught.value.kind is SigV4ErrorKind.INCOMPLETE
    return caught.value.message


def test_good_header_parses_and_tolerates_missing_spaces() -> None:
    auth = parse_auth(_header_request(_GOOD_AUTH.replace(", ", ",")))
    assert auth.access_key == "AKID" and auth.scope_date == "20150830"
    assert auth.signed_headers == ("host", "x-amz-date")
    assert auth.request_time == datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


def test_missing() -> None:
    for query in ("", "Action=X", "foo=X-Amz-Algorithm"):
        req = HttpRequest("GET", "/", query, (("Host", "h"),), b"")
        with pytest.raises(SigV4Error) as caught:
            parse_auth(req)
        assert caught.value.kind is SigV4ErrorKind.MISSING


def test_missing_all_parameters_message() -> None:
    assert _incomplete(_header_request("AWS4-HMAC-SHA256", date=None)) == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256"
    )


@pytest.mark.parametrize(
    ("authorization", "date", "expected"),
    [
        (_GOOD_AUTH.replace("Credential=", "Cred="), "20150830T123600Z", "'Credential' parameter"),
        (_GOOD_AUTH.replace("SignedHeaders=", "Sh="), "20150830T123600Z", "'SignedHeaders'"),
        (_GOOD_AUTH.replace("Signature=", "Sig="), "20150830T123600Z", "'Signature' parameter"),
        (_GOOD_AUTH, None, "either a 'X-Amz-Date' or a 'Date' header"),
        (_GOOD_AUTH.replace("SHA256", "SHA512"), "20150830T123600Z", "Unsupported AWS"),
        ("AWS AKID:c2lnbmF0dXJl", "20150830T123600Z", "Unsupported AWS 'algorithm': 'AWS'"),
        (_GOOD_AUTH + ", junk", "20150830T123600Z", "missing equal-sign"),
        (_GOOD_AUTH.replace("aws4_request", "aws5_request"), "20150830T123600Z", "terminator"),
        (_GOOD_AUTH.replace("/ssm/", "/"), "20150830T123600Z", "valid region"),
        (_GOOD_AUTH.replace("/us-east-1/", "//"), "20150830T123600Z", "valid region"),
        (_GOOD_AUTH.replace("/ssm/", "//"), "20150830T123600Z", "correct service"),
        (_GOOD_AUTH.replace("20150830", "2015083x"), "20150830T123600Z", "valid date"),
        (_GOOD_AUTH.replace("AKID/", "/"), "20150830T123600Z", "valid region"),
        (_GOOD_AUTH, "2015-08-30T12:36:00Z", "ISO-8601 'basic format'"),
        (_GOOD_AUTH, "20151330T123600Z", "ISO-8601 'basic format'"),
        (_GOOD_AUTH, "2015083\u0661T123600Z", "ISO-8601 'basic format'"),
        (_GOOD_AUTH.replace("host;", ""), "20150830T123600Z", "'Host' or ':authority'"),
    ],
    ids=[
        "no-credential",
        "no-signed-headers",
        "no-signature",
        "no-date",
        "algorithm",
        "sigv2",
        "no-equal-sign",
        "terminator",
        "four-part-scope",
        "empty-region",
        "empty-service",
        "scope-date",
        "empty-access-key",
        "extended-date",
        "month-13",
        "non-ascii-digit",
        "host-not-signed",
    ],
)
def test_incomplete_header(authorization: str, date: str | None, expected: str) -> None:
    assert expected in _incomplete(_header_request(authorization, date))


def test_bad_date_header() -> None:
    req = HttpRequest(
        "GET", "/", "", (("Host", "h"), ("Date", "yesterday"), ("Authorization", _GOOD_AUTH)), b""
    )
    assert "ISO-8601" in _incomplete(req)


_PRESIGN = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": "AKID%2F20150830%2Fus-east-1%2Fssm%2Faws4_request",
    "X-Amz-Date": "20150830T123600Z",
    "X-Amz-Expires": "3600",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": "ab" * 32,
}


def _presigned(**changes: str | None) -> HttpRequest:
    params = {**_PRESIGN, **changes}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return HttpRequest("GET", "/", query, (("Host", "h"),), b"")


def test_presigned_parses() -> None:
    auth = parse_auth(_presigned())
    assert auth.presigned and auth.expires == 3600 and auth.session_token is None
    assert parse_auth(_presigned(**{"X-Amz-Expires": "604800"})).expires == 604800
    assert parse_auth(_presigned(**{"X-Amz-Expires": "1"})).expires == 1


@pytest.mark.parametrize(
    "param", ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"]
)
def test_presigned_missing_parameter(param: str) -> None:
    message = _incomplete(_presigned(**{param: None}))
    assert message == (
        f"AWS query-string parameters must include '{param}'. Re-examine the query-string parameters."
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"X-Amz-Expires": "0"}, "X-Amz-Expires"),
        ({"X-Amz-Expires": "604801"}, "less than a week"),
        ({"X-Amz-Expires": "-1"}, "X-Amz-Expires"),
        ({"X-Amz-Expires": "soon"}, "X-Amz-Expires"),
        ({"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, "Unsupported AWS"),
        ({"X-Amz-SignedHeaders": "x-amz-date"}, "'Host' or ':authority'"),
        ({"X-Amz-Date": "today"}, "ISO-8601"),
        ({"X-Amz-Credential": "AKID%2F20150830%2Fus-east-1%2Fssm%2Faws"}, "terminator"),
    ],
)
def test_presigned_incomplete(changes: dict[str, str], expected: str) -> None:
    assert expected in _incomplete(_presigned(**changes))


def test_both_mechanisms_is_incomplete() -> None:
    presigned = _presigned()
    req = HttpRequest("GET", "/", presigned.query, (("Host", "h"), ("Authorization", _GOOD_AUTH)), b"")
    assert "Only one auth mechanism" in _incomplete(req)


# --- signing-key cache --------------------------------------------------------


def test_cache_matches_derivation_and_keys_on_secret() -> None:
    cache = SigningKeyCache()
    first = cache.get(SECRET, "20150830", "us-east-1", "ssm")
    assert first == derive_signing_key(SECRET, "20150830", "us-east-1", "ssm")
    assert cache.get(SECRET, "20150830", "us-east-1", "ssm") is first
    assert cache.get("other", "20150830", "us-east-1", "ssm") != first
    assert cache.get(SECRET, "20150831", "us-east-1", "ssm") != first


def test_cache_different_secret_is_mismatch_not_cached_pass() -> None:
    cache = SigningKeyCache()
    req = sign(headers=JSON_HEADERS, body=b"{}")
    check(req, cache=cache)
    error = rejected(req, "rotated-secret", cache=cache)
    assert error.kind is SigV4ErrorKind.SIGNATURE_MISMATCH
    check(req, cache=cache)


def test_cache_is_bounded() -> None:
    cache = SigningKeyCache(max_entries=2)
    for day in ("20150830", "20150831", "20150901"):
        cache.get(SECRET, day, "us-east-1", "ssm")
    assert len(cache) == 2
    assert cache.get(SECRET, "20150901", "us-east-1", "ssm") == derive_signing_key(
        SECRET, "20150901", "us-east-1", "ssm"
    )
    with pytest.raises(ValueError):
        SigningKeyCache(max_entries=0)


def test_naive_now_is_refused() -> None:
    req = sign(headers=JSON_HEADERS, body=b"{}")
    with pytest.raises(ValueError):
        verify(req, parse_auth(req), SECRET, now=datetime.now(), max_skew=SKEW)


def test_non_ascii_header_value_decoded_as_latin1_verifies() -> None:
    # botocore signs str header values as UTF-8 while http.client puts them on
    # the wire as latin-1; an ASGI server decodes header bytes as latin-1, which
    # gives back the str botocore signed.
    request = AWSRequest(method="GET", url=ENDPOINT + "/", headers={"X-Test": "caf\u00e9"})
    req = _sign_request(request)
    wire = tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in req.headers)
    received = tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in wire)
    check(HttpRequest(req.method, req.path, req.query, received, req.body))
