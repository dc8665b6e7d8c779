"""Key policies decide KMS calls: without the root statement IAM allows have no effect;
naming the user in the key policy allows without IAM. Also kms:ViaService and the
internal "as the caller" path's denials."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

ALLOW_KMS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}],
    }
)


def _user(server: Server, policy: str | None) -> tuple[str, tuple[str, str]]:
    name = f"k{uuid.uuid4().hex[:10]}"
    iam = server.client("iam")
    arn: str = iam.create_user(UserName=name)["User"]["Arn"]
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (k["AccessKeyId"], k["SecretAccessKey"])


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _admin_arn(server: Server) -> str:
    arn: str = server.client("sts").get_caller_identity()["Arn"]
    return arn


def test_root_delegation_and_direct_grant(server: Server) -> None:
    admin = _admin_arn(server)
    user_arn, creds = _user(server, ALLOW_KMS)
    kms = server.client("kms")
    user_kms = server.client("kms", creds=creds)

    # Default policy (root statement): the IAM allow is enough.
    default_key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=default_key["KeyId"], Plaintext=b"ok")["CiphertextBlob"]
    assert user_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"ok"

    # A key policy without the root statement: the same IAM allow has no effect.
    admin_only = {
        "Sid": "Admin",
        "Effect": "Allow",
        "Principal": {"AWS": admin},
        "Action": "kms:*",
        "Resource": "*",
    }
    key = kms.create_key(Policy=_policy(admin_only))["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user_kms.decrypt(CiphertextBlob=blob)
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDeniedException"
    assert (
        f"User: {user_arn} is not authorized to perform: kms:Decrypt on resource: {key['Arn']}"
        in err["Message"]
    )

    # Naming the user in the key policy allows it (even without any IAM policy).
    _bare_arn, bare_creds = _user(server, None)
    bare_kms = server.client("kms", creds=bare_creds)
    grant = {
        "Sid": "User",
        "Effect": "Allow",
        "Principal": {"AWS": [user_arn, _bare_arn]},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(admin_only, grant))
    assert user_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    assert bare_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    # ...but only the actions named: Encrypt stays denied.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_denied_management_changes_nothing(server: Server) -> None:
    _arn, creds = _user(server, ALLOW_KMS)
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    user_kms = server.client("kms", creds=creds)
    for call, kw in [
        (user_kms.disable_key, {"KeyId": key["KeyId"]}),
        (user_kms.schedule_key_deletion, {"KeyId": key["KeyId"], "PendingWindowInDays": 7}),
        (user_kms.put_key_policy, {"KeyId": key["KeyId"], "Policy": _policy()}),
        (
            user_kms.create_alias,
            {"AliasName": f"alias/x-{uuid.uuid4().hex[:6]}", "TargetKeyId": key["KeyId"]},
        ),
        (user_kms.create_key, {}),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(**kw)
        assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    after = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert after["KeyState"] == "Enabled"
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"])["Policy"])["Id"] == "key-default-1"
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"] == []


def test_encryption_context_condition(server: Server) -> None:
    admin = _admin_arn(server)
    user_arn, creds = _user(server, None)
    kms = server.client("kms")
    statements = [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"},
        {
            "Sid": "Ctx",
            "Effect": "Allow",
            "Principal": {"AWS": user_arn},
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:app": "billing"}},
        },
    ]
    key = kms.create_key(Policy=_policy(*statements))["KeyMetadata"]
    user_kms = server.client("kms", creds=creds)
    user_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "billing"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "other"})
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
