"""Authentication through the real server: signatures, unknown and inactive
keys, replay outside the clock-skew window, scope checks (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server, raw_request, signed_request

JSON_HEADERS = {"X-Amz-Target": "AmazonSSM.DescribeParameters", "Content-Type": "application/x-amz-json-1.1"}
QUERY_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
QUERY_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield request.getfixturevalue("server" if request.param == "sqlite" else "pg_server")


def _user(srv: Server) -> tuple[str, str, str]:
    iam = srv.client("iam")
    name = f"sig-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key["AccessKeyId"], key["SecretAccessKey"]


def _err(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def test_valid_key_authenticates(srv: Server) -> None:
    _, key, secret = _user(srv)
    assert srv.client("sts", creds=(key, secret)).get_caller_identity()["Arn"].endswith(":user/" + _)
    status, _h, _b = signed_request(
        srv.endpoint, QUERY_BODY, QUERY_HEADERS, service="sts", key=key, secret=secret
    )
    assert status == 200


def test_bad_signature(srv: Server) -> None:
    _, key, secret = _user(srv)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        srv.client("ssm", creds=(key, secret + "x")).describe_parameters()
    assert _err(e)[0] == "InvalidSignatureException"
    assert _err(e)[1].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        srv.client("iam", creds=(key, secret + "x")).list_users()
    assert _err(e)[0] == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key(srv: Server) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        srv.client("ssm", creds=("AKIAUNKNOWNUNKNOWN00", "x" * 40)).describe_parameters()
    assert _err(e) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        srv.client("sts", creds=("AKIAUNKNOWNUNKNOWN00", "x" * 40)).get_caller_identity()
    assert _err(e) == ("InvalidClientTokenId", "The security token included in the request is invalid.")


def test_inactive_then_deleted_key(srv: Server) -> None:
    name, key, secret = _user(srv)
    sts = srv.client("sts", creds=(key, secret))
    sts.get_caller_identity()
    iam = srv.client("iam")
    iam.update_access_key(UserName=name, AccessKeyId=key, Status="Inactive")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert _err(e)[0] == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key, Status="Active")
    sts.get_caller_identity()
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert _err(e)[0] == "InvalidClientTokenId"


def _replay(srv: Server, prepared: Any, body: bytes) -> tuple[int, bytes]:
    r = urllib.request.Request(prepared.url, data=body, method="POST", headers=dict(prepared.headers.items()))
    status, _, out = raw_request(r)
    return status, out


def _signed(srv: Server, body: bytes, headers: dict[str, str], service: str, key: str, secret: str) -> Any:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    return req.prepare()


def test_replay_outside_the_skew_window(srv: Server) -> None:
    _, key, secret = _user(srv)
    try:
        json_req = _signed(srv, b"{}", JSON_HEADERS, "ssm", key, secret)
        query_req = _signed(srv, QUERY_BODY, QUERY_HEADERS, "sts", key, secret)
        assert _replay(srv, query_req, QUERY_BODY)[0] == 200
        srv.admin_post("/_fleetward/clock", json.dumps({"offset": 301}).encode())
        status, body = _replay(srv, json_req, b"{}")
        assert status == 403
        payload = json.loads(body)
        assert payload["__type"] == "InvalidSignatureException"
        assert payload["message"].startswith("Signature expired: ") and "(" in payload["message"]
        assert _replay(srv, query_req, QUERY_BODY)[0] == 200  # Query services allow 15 minutes
        srv.admin_post("/_fleetward/clock", json.dumps({"offset": 901}).encode())
        status, body = _replay(srv, query_req, QUERY_BODY)
        assert (
            status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body and b"Signature expired" in body
        )
        srv.admin_post("/_fleetward/clock", json.dumps({"offset": -400}).encode())
        status, body = _replay(srv, json_req, b"{}")
        assert status == 403 and b"Signature not yet current" in body
    finally:
        srv.admin_post("/_fleetward/clock", b'{"offset": 0}')


def test_scope_must_name_the_service(srv: Server) -> None:
    _, key, secret = _user(srv)
    status, _h, body = signed_request(
        srv.endpoint, b"{}", JSON_HEADERS, service="kms", key=key, secret=secret
    )
    payload = json.loads(body)
    assert status == 403
    assert payload["__type"] == "InvalidSignatureException"
    assert payload["message"].startswith("Credential should be scoped to correct service: 'ssm'.")


def test_missing_authentication(srv: Server) -> None:
    r = urllib.request.Request(srv.endpoint + "/", data=b"{}", method="POST", headers=JSON_HEADERS)
    status, _, body = raw_request(r)
    assert status == 403
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"


def test_user_denied_and_allowed_on_both_databases(srv: Server) -> None:
    name, key, secret = _user(srv)
    iam = srv.client("iam", creds=(key, secret))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.list_users()
    assert _err(e)[0] == "AccessDenied"
    srv.client("iam").attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert any(u["UserName"] == name for u in iam.list_users()["Users"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName=name + "-x")
    assert _err(e)[0] == "AccessDenied"


def test_presigned_url(srv: Server) -> None:
    """SigV4 in the query string (as `generate_presigned_url` makes it) authenticates;
    a tampered or expired one does not."""
    sts = srv.client("sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    status, _, body = raw_request(urllib.request.Request(url))
    assert status == 200, body
    assert b"<Arn>arn:aws:iam::" in body and b":user/admin</Arn>" in body
    status, _, body = raw_request(urllib.request.Request(url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")))
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    srv.admin_post("/_fleetward/clock", b'{"offset": 120}')
    try:
        status, _, body = raw_request(urllib.request.Request(url))
    finally:
        srv.admin_post("/_fleetward/clock", b'{"offset": 0}')
    assert status == 403 and b"expired" in body
