"""SecureString through KMS as the caller, least-privilege users, and the canary.

A user allowed ssm:GetParameter on /app/* but not kms:Decrypt gets the
ciphertext without decryption and AccessDeniedException with it; granting
kms:Decrypt in the key policy makes it work; a disabled key is InvalidKeyId.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


def uid() -> str:
    return uuid.uuid4().hex[:10]


def fails(call: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


@pytest.fixture(scope="module")
def account(server: Server) -> str:
    return str(server.client("sts").get_caller_identity()["Account"])


def make_user(server: Server, policy: dict[str, Any]) -> tuple[tuple[str, str], str]:
    iam = server.client("iam")
    name = f"u{uid()}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return (key["AccessKeyId"], key["SecretAccessKey"]), arn


def key_policy(account: str, extra: list[dict[str, Any]] | None = None) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                *(extra or []),
            ],
        }
    )


def test_decrypt_needs_kms_permission_granted_in_key_policy(server: Server, account: str) -> None:
    admin_ssm, kms = server.client("ssm"), server.client("kms")
    key_id = kms.create_key(Policy=key_policy(account))["KeyMetadata"]["KeyId"]
    prefix = f"/app/{uid()}"
    name = f"{prefix}/db-password"
    admin_ssm.put_parameter(Name=name, Value="hunter2-secret", Type="SecureString", KeyId=key_id)
    creds, user_arn = make_user(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ssm:GetParameter",
                    "Resource": f"arn:aws:ssm:us-east-1:{account}:parameter/app/*",
                }
            ],
        },
    )
    ssm = server.client("ssm", creds=creds)
    code, msg = fails(ssm.get_parameter, Name=name, WithDecryption=True)
    assert code == "AccessDeniedException"
    assert "kms:Decrypt" in msg and user_arn in msg
    # KMS's refusal as SSM reports it: KMS's message and the status line of the KMS call.
    assert " (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: " in msg
    blob = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    assert blob != "hunter2-secret" and len(base64.b64decode(blob)) > 16
    # The same with the aws CLI.
    out = server.aws("ssm", "get-parameter", "--name", name, "--with-decryption", creds=creds)
    assert out.returncode != 0 and "(AccessDeniedException)" in out.stderr
    out = server.aws("ssm", "get-parameter", "--name", name, creds=creds)
    assert out.returncode == 0 and json.loads(out.stdout)["Parameter"]["Value"] == blob
    # Other names are denied by SSM itself.
    assert fails(ssm.get_parameter, Name="/other/x")[0] == "AccessDeniedException"
    statement = {
        "Sid": "app",
        "Effect": "Allow",
        "Principal": {"AWS": user_arn},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}},
    }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(account, [statement]))
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "hunter2-secret"
    out = server.aws("ssm", "get-parameter", "--name", name, "--with-decryption", creds=creds)
    assert out.returncode == 0 and json.loads(out.stdout)["Parameter"]["Value"] == "hunter2-secret"
    # The user cannot decrypt the same blob directly: kms:ViaService is ssm only.
    assert fails(server.client("kms", creds=creds).decrypt, CiphertextBlob=base64.b64decode(blob))[0] == (
        "AccessDeniedException"
    )
    # A disabled key blocks reads with SSM's InvalidKeyId.
    kms.disable_key(KeyId=key_id)
    code, msg = fails(ssm.get_parameter, Name=name, WithDecryption=True)
    assert code == "InvalidKeyId" and "DisabledException" in msg
    assert fails(admin_ssm.put_parameter, Name=f"{prefix}/x", Value="v", Type="SecureString", KeyId=key_id)[
        0
    ] == ("InvalidKeyId")
    kms.enable_key(KeyId=key_id)
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "hunter2-secret"


def test_put_needs_encrypt_and_overwrite_condition(server: Server, account: str) -> None:
    admin_ssm, kms = server.client("ssm"), server.client("kms")
    key = kms.create_key(Policy=key_policy(account))["KeyMetadata"]
    prefix = f"/svc{uid()}"
    res = f"arn:aws:ssm:us-east-1:{account}:parameter{prefix}/*"
    creds, _ = make_user(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter"], "Resource": res},
                {
                    "Effect": "Deny",
                    "Action": "ssm:PutParameter",
                    "Resource": res,
                    "Condition": {"StringEquals": {"ssm:Overwrite": "true"}},
                },
                {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"]},
            ],
        },
    )
    ssm = server.client("ssm", creds=creds)
    name = f"{prefix}/a"
    assert ssm.put_parameter(Name=name, Value="v1", Type="SecureString", KeyId=key["Arn"])["Version"] == 1
    assert fails(ssm.put_parameter, Name=name, Value="v2", Type="SecureString", Overwrite=True)[0] == (
        "AccessDeniedException"
    )
    # Advanced tier needs kms:GenerateDataKey, which the user lacks: nothing is written.
    code, msg = fails(
        ssm.put_parameter,
        Name=f"{prefix}/adv",
        Value="v",
        Type="SecureString",
        KeyId=key["KeyId"],
        Tier="Advanced",
    )
    assert code == "AccessDeniedException" and "kms:GenerateDataKey" in msg
    assert fails(admin_ssm.get_parameter, Name=f"{prefix}/adv")[0] == "ParameterNotFound"
    assert admin_ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "v1"
    # Advanced (envelope) with the admin: round trip.
    admin_ssm.put_parameter(
        Name=f"{prefix}/big", Value="z" * 6000, Type="SecureString", KeyId=key["KeyId"], Tier="Advanced"
    )
    assert (
        admin_ssm.get_parameter(Name=f"{prefix}/big", WithDecryption=True)["Parameter"]["Value"] == "z" * 6000
    )
    meta = admin_ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][
        0
    ]
    assert meta["KeyId"] == key["Arn"]
    assert fails(
        admin_ssm.put_parameter, Name=f"{prefix}/nokey", Value="v", Type="SecureString", KeyId="alias/nope"
    )[0] == ("InvalidKeyId")


def test_get_parameters_denied_name_fails_whole_call_and_by_path_is_path_authorized(
    server: Server, account: str
) -> None:
    admin = server.client("ssm")
    root = f"/team{uid()}"
    for n in ("a", "b", "sub/c"):
        admin.put_parameter(Name=f"{root}/{n}", Value=n, Type="String")
    creds, _ = make_user(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ssm:GetParameters",
                    "Resource": f"arn:aws:ssm:us-east-1:{account}:parameter{root}/a",
                },
                {
                    "Effect": "Allow",
                    "Action": "ssm:GetParametersByPath",
                    "Resource": f"arn:aws:ssm:us-east-1:{account}:parameter{root}",
                    "Condition": {"Bool": {"ssm:Recursive": "false"}},
                },
            ],
        },
    )
    ssm = server.client("ssm", creds=creds)
    assert [p["Value"] for p in ssm.get_parameters(Names=[f"{root}/a"])["Parameters"]] == ["a"]
    assert fails(ssm.get_parameters, Names=[f"{root}/a", f"{root}/b"])[0] == "AccessDeniedException"
    assert sorted(p["Value"] for p in ssm.get_parameters_by_path(Path=root)["Parameters"]) == ["a", "b"]
    assert fails(ssm.get_parameters_by_path, Path=root, Recursive=True)[0] == "AccessDeniedException"
    assert fails(ssm.get_parameters_by_path, Path=f"{root}/sub")[0] == "AccessDeniedException"
    assert fails(ssm.describe_parameters)[0] == "AccessDeniedException"


def test_resource_tag_conditions(server: Server, account: str) -> None:
    admin = server.client("ssm")
    name = f"/tagged{uid()}/x"
    admin.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": "blue"}])
    other = f"/tagged{uid()}/y"
    admin.put_parameter(Name=other, Value="v", Type="String", Tags=[{"Key": "team", "Value": "red"}])
    creds, _ = make_user(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter", "ssm:DeleteParameter"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
                }
            ],
        },
    )
    ssm = server.client("ssm", creds=creds)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "v"
    assert fails(ssm.get_parameter, Name=other)[0] == "AccessDeniedException"
    assert fails(ssm.delete_parameter, Name=other)[0] == "AccessDeniedException"
    assert admin.get_parameter(Name=other)["Parameter"]["Value"] == "v"  # nothing changed


def test_resource_tag_deny_covers_batch_calls_and_both_spellings(server: Server, account: str) -> None:
    admin = server.client("ssm")
    red, blue = f"/tagged{uid()}/red", f"/tagged{uid()}/blue"
    top = f"top{uid()}"
    for name, team in ((red, "red"), (blue, "blue"), (top, "red")):
        admin.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": team}])
    creds, _ = make_user(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ssm:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": ["ssm:GetParameter*", "ssm:DeleteParameter*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/team": "red"}},
                },
            ],
        },
    )
    ssm = server.client("ssm", creds=creds)
    assert [p["Name"] for p in ssm.get_parameters(Names=[blue])["Parameters"]] == [blue]
    assert fails(ssm.get_parameters, Names=[blue, red])[0] == "AccessDeniedException"
    assert fails(ssm.get_parameters, Names=[f"{red}:1"])[0] == "AccessDeniedException"
    assert fails(ssm.delete_parameters, Names=[red])[0] == "AccessDeniedException"
    # "/top..." is the parameter "top...": its tags apply under either spelling.
    for spelling in (top, "/" + top):
        assert fails(ssm.get_parameter, Name=spelling)[0] == "AccessDeniedException"
        assert fails(ssm.get_parameters, Names=[spelling])[0] == "AccessDeniedException"
        assert fails(ssm.delete_parameter, Name=spelling)[0] == "AccessDeniedException"
        assert fails(ssm.delete_parameters, Names=[spelling])[0] == "AccessDeniedException"
    # Nothing changed.
    assert len(admin.get_parameters(Names=[red, top])["Parameters"]) == 2


def test_canary_never_stored_or_logged(server: Server, account: str) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    ssm, kms = server.client("ssm"), server.client("kms")
    key_id = kms.create_key(Policy=key_policy(account))["KeyMetadata"]["KeyId"]
    prefix = f"/canary{uid()}"
    ssm.put_parameter(Name=f"{prefix}/std", Value=canary, Type="SecureString")
    ssm.put_parameter(Name=f"{prefix}/cmk", Value=canary, Type="SecureString", KeyId=key_id, Tier="Advanced")
    ssm.put_parameter(Name=f"{prefix}/std", Value=canary + "2", Type="SecureString", Overwrite=True)
    assert ssm.get_parameter(Name=f"{prefix}/cmk", WithDecryption=True)["Parameter"]["Value"] == canary
    ssm.get_parameters(Names=[f"{prefix}/std", f"{prefix}/cmk"], WithDecryption=True)
    ssm.get_parameters_by_path(Path=prefix, WithDecryption=True)
    ssm.get_parameter_history(Name=f"{prefix}/std", WithDecryption=True)
    out = server.aws("ssm", "get-parameter", "--name", f"{prefix}/std", "--with-decryption")
    assert canary in out.stdout
    # A failing put with the canary (pattern mismatch) leaves no trace either.
    fails(ssm.put_parameter, Name=f"{prefix}/bad", Value=canary, Type="SecureString", AllowedPattern="^x$")
    subprocess.run(["sync"], check=False)
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    assert canary.encode() not in server.database_bytes()
    records = [r[0] for r in server.sql("SELECT record FROM audit_events WHERE record LIKE ?", f"%{prefix}%")]
    assert records and not any(canary in r for r in records)
    assert any("HIDDEN_DUE_TO_SECURITY_REASONS" in r for r in records)
