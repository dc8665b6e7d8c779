"""STS behaviours other AWS emulators' conformance suites check (moto's STS
tests), through the real server in dev mode, as those suites drive it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

TRUST_ACCOUNT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        },
    }
)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _eventually(read: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    """``read()`` once it holds ``key`` (last-used data is written in the background)."""
    for _ in range(50):
        got = read()
        if key in got:
            return got
        time.sleep(0.05)
    return got


def test_dev_mode_keys_it_issued_are_their_principals(dev_server: Server) -> None:
    """Any other key is the dev administrator; a user's access key and a role
    session's credentials are that user and that session, as in AWS."""
    iam = dev_server.client("iam")
    assert dev_server.client("sts").get_caller_identity()["Arn"].endswith(":user/admin")
    user = iam.create_user(UserName=_name("u"))["User"]
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    creds = (key["AccessKeyId"], key["SecretAccessKey"])
    ident = dev_server.client("sts", creds).get_caller_identity()
    assert (ident["Arn"], ident["UserId"]) == (user["Arn"], user["UserId"])
    # The caller's own user, as IAM implies it without a UserName; the key's first use is recorded.
    as_user = dev_server.client("iam", creds)
    assert as_user.get_user()["User"]["Arn"] == user["Arn"]
    assert [k["AccessKeyId"] for k in as_user.list_access_keys()["AccessKeyMetadata"]] == [creds[0]]
    last = _eventually(
        lambda: iam.get_access_key_last_used(AccessKeyId=creds[0])["AccessKeyLastUsed"], "LastUsedDate"
    )
    assert "LastUsedDate" in last and (last["ServiceName"], last["Region"]) == ("sts", "us-east-1")

    role = iam.create_role(RoleName=_name("r"), AssumeRolePolicyDocument=TRUST_ACCOUNT)["Role"]
    session = dev_server.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    c = session["Credentials"]
    ident = dev_server.client(
        "sts", (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    ).get_caller_identity()
    assert ident["Arn"] == session["AssumedRoleUser"]["Arn"]
    assert ident["UserId"] == session["AssumedRoleUser"]["AssumedRoleId"]
    used = _eventually(
        lambda: iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"], "LastUsedDate"
    )
    assert used["Region"] == "us-east-1"

    # An issued key is verified like any other: a wrong secret is a bad signature, a deleted key unknown.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        dev_server.client("sts", (creds[0], "wrong")).get_caller_identity()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=creds[0])
    assert dev_server.client("sts", creds).get_caller_identity()["Arn"].endswith(":user/admin")


def test_dev_mode_reset_forgets_issued_keys_at_once(dev_server: Server) -> None:
    iam = dev_server.client("iam")
    name = _name("u")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = dev_server.client("sts", (key["AccessKeyId"], key["SecretAccessKey"]))
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    dev_server.admin_post("/_fleetward/reset")
    assert sts.get_caller_identity()["Arn"].endswith(":user/admin")


def test_dev_mode_any_key_it_did_not_issue_is_in_the_dev_account(dev_server: Server) -> None:
    """GetAccessKeyInfo agrees with dev-mode authentication: a key the server never
    issued is the administrator's, of account 123456789012."""
    sts = dev_server.client("sts")
    assert sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")["Account"] == "123456789012"
    assert sts.get_access_key_info(AccessKeyId="ASIAIOSFODNN7EXAMPLE")["Account"] == "123456789012"
