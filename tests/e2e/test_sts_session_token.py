"""STS GetSessionToken and GetAccessKeyInfo through the real server."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.support.server import NO_RETRY, REGION, Server

BACKENDS = ("sqlite", "postgresql")


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _err(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


ALLOWED = ["sts:GetSessionToken", "sts:GetAccessKeyInfo", "sts:AssumeRole", "ssm:DescribeParameters", "iam:*"]


def _user(server: Server, actions: list[str] = ALLOWED) -> tuple[dict[str, Any], tuple[str, str]]:
    iam = server.client("iam")
    user = iam.create_user(UserName=f"st-{uuid.uuid4().hex[:8]}")["User"]
    iam.put_user_policy(
        UserName=user["UserName"],
        PolicyName="p",
        PolicyDocument=_doc({"Effect": "Allow", "Action": actions, "Resource": "*"}),
    )
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    return user, (key["AccessKeyId"], key["SecretAccessKey"])


def _session(server: Server, creds: tuple[str, ...], **kw: Any) -> tuple[str, str, str, dt.datetime]:
    c = server.client("sts", creds).get_session_token(**kw)["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"]


def test_session_token_acts_as_the_user(server: Server) -> None:
    user, creds = _user(server)
    key, secret, token, expires = _session(server, creds, DurationSeconds=900)
    assert key.startswith("ASIA") and len(secret) == 40
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 800 < left <= 905
    temp = (key, secret, token)
    who = server.client("sts", temp).get_caller_identity()
    assert who["Arn"] == user["Arn"] and who["UserId"] == user["UserId"]
    server.client("ssm", temp).describe_parameters()
    # The user's policies still apply: nothing beyond them.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("ssm", temp).get_parameter(Name="/x")
    assert _err(e)[0] == "AccessDeniedException"
    # Without MFA the session cannot call IAM, even where the user may.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("iam", temp).get_user()
    assert _err(e) == ("InvalidClientTokenId", "The security token included in the request is invalid.")
    server.client("iam", creds).get_user()
    # Nor ask for another session token; a wrong session token is refused.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", temp).get_session_token()
    assert _err(e) == ("AccessDenied", "Cannot call GetSessionToken with session credentials")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", (key, secret, token + "x")).get_caller_identity()
    assert _err(e)[0] == "InvalidClientTokenId"


def test_session_token_default_duration_and_limits(server: Server) -> None:
    _, creds = _user(server)
    *_, expires = _session(server, creds)
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 43100 < left <= 43205
    unchecked = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
        config=NO_RETRY.merge(Config(parameter_validation=False)),
    )
    for bad in (899, 129601):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            unchecked.get_session_token(DurationSeconds=bad)
        assert _err(e)[0] == "ValidationError"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _session(server, creds, SerialNumber="arn:aws:iam::123456789012:mfa/x", TokenCode="123456")
    assert _err(e)[0] == "AccessDenied"


def test_session_token_needs_permission_and_dies_with_the_user(server: Server) -> None:
    user, creds = _user(server, ["ssm:DescribeParameters"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _session(server, creds)
    code, message = _err(e)
    assert code == "AccessDenied" and "sts:GetSessionToken" in message
    [(count,)] = server.sql("SELECT COUNT(*) FROM sts_user_sessions WHERE user_id = ?", user["UserId"])
    assert count == 0
    iam = server.client("iam")
    iam.put_user_policy(
        UserName=user["UserName"],
        PolicyName="p2",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"}),
    )
    key, secret, token, _ = _session(server, creds)
    [(blob,)] = server.sql("SELECT secret FROM sts_user_sessions WHERE access_key_id = ?", key)
    assert secret.encode() not in bytes(blob)
    server.client("ssm", (key, secret, token)).describe_parameters()
    iam.delete_user_policy(UserName=user["UserName"], PolicyName="p")
    iam.delete_user_policy(UserName=user["UserName"], PolicyName="p2")
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=creds[0])
    iam.delete_user(UserName=user["UserName"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("ssm", (key, secret, token)).describe_parameters()
    assert _err(e)[0] == "UnrecognizedClientException"


def test_get_access_key_info(server: Server) -> None:
    user, creds = _user(server)
    account = user["Arn"].split(":")[4]
    sts = server.client("sts", creds)
    assert sts.get_access_key_info(AccessKeyId=creds[0])["Account"] == account
    key, *_ = _session(server, creds)
    assert sts.get_access_key_info(AccessKeyId=key)["Account"] == account
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert _err(e)[0] == "ValidationError"
