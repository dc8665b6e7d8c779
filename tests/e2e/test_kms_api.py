"""KMS through the real aws CLI and boto3 on an initialised server (real SigV4 and IAM)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.support.server import NO_RETRY, Server, signed_request

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

DAY = 86400


def code_of(e: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


def msg_of(e: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(e.value.response["Error"]["Message"])


def cli_json(server: Server, *args: str) -> Any:
    out = server.aws(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


def raw(server: Server, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A signed request that skips botocore's client-side validation (server-side checks)."""
    key, secret = server.admin[0], server.admin[1]
    status, _headers, payload = signed_request(
        server.endpoint,
        json.dumps(body).encode(),
        {"X-Amz-Target": f"TrentService.{operation}", "Content-Type": "application/x-amz-json-1.1"},
        service="kms",
        key=key,
        secret=secret,
    )
    return status, json.loads(payload or b"{}")


def new_key(server: Server, **kw: Any) -> dict[str, Any]:
    meta: dict[str, Any] = server.client("kms").create_key(**kw)["KeyMetadata"]
    return meta


def other_user(server: Server, path: str = "/") -> str:
    """A new IAM user with no permissions, for key policies that leave the caller out."""
    arn: str = server.client("iam").create_user(UserName=f"u{uuid.uuid4().hex[:10]}", Path=path)["User"][
        "Arn"
    ]
    return arn


def test_cli_round_trip_alias_disable_delete_cancel(server: Server, tmp_path: Path) -> None:
    alias = f"alias/app-{uuid.uuid4().hex[:8]}"
    meta = cli_json(server, "kms", "create-key", "--description", "app key")["KeyMetadata"]
    key_id = meta["KeyId"]
    account = meta["AWSAccountId"]
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{account}:key/{key_id}"
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeySpec"] == meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT" and meta["KeyManager"] == "CUSTOMER"
    assert meta["Origin"] == "AWS_KMS" and meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["MultiRegion"] is False
    cli_json(server, "kms", "create-alias", "--alias-name", alias, "--target-key-id", key_id)

    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"attack at dawn \x00\xff")
    enc = cli_json(server, "kms", "encrypt", "--key-id", alias, "--plaintext", f"fileb://{plain}")
    assert enc["KeyId"] == meta["Arn"]
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(enc["CiphertextBlob"]))
    dec = cli_json(server, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}")
    assert base64.b64decode(dec["Plaintext"]) == plain.read_bytes()
    assert dec["KeyId"] == meta["Arn"]

    cli_json(server, "kms", "disable-key", "--key-id", key_id)
    out = server.aws("kms", "encrypt", "--key-id", alias, "--plaintext", f"fileb://{plain}")
    assert out.returncode != 0
    assert f"(DisabledException) when calling the Encrypt operation: {meta['Arn']} is disabled." in out.stderr

    sched = cli_json(
        server, "kms", "schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7"
    )
    assert sched["KeyState"] == "PendingDeletion" and sched["PendingWindowInDays"] == 7
    desc = cli_json(server, "kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert desc["KeyState"] == "PendingDeletion" and desc["PendingDeletionWindowInDays"] == 7
    assert "DeletionDate" in desc
    out = server.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}")
    assert "(KMSInvalidStateException)" in out.stderr and "is pending deletion." in out.stderr
    assert cli_json(server, "kms", "cancel-key-deletion", "--key-id", key_id)["KeyId"] == meta["Arn"]
    desc = cli_json(server, "kms", "describe-key", "--key-id", alias)["KeyMetadata"]
    assert desc["KeyState"] == "Disabled" and "DeletionDate" not in desc
    cli_json(server, "kms", "enable-key", "--key-id", key_id)
    dec = cli_json(server, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}")
    assert base64.b64decode(dec["Plaintext"]) == plain.read_bytes()


def test_key_state_changes_as_aws(server: Server) -> None:
    """Only CancelKeyDeletion ends a pending deletion; it refuses a key not pending deletion."""
    kms = server.client("kms")
    meta = new_key(server)
    arn, key_id = meta["Arn"], meta["KeyId"]

    def err(fn: Any, **kw: Any) -> tuple[str, str]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            fn(**kw)
        return code_of(e), msg_of(e)

    def state() -> str:
        return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])

    not_pending = ("KMSInvalidStateException", f"{arn} is not pending deletion.")
    assert err(kms.cancel_key_deletion, KeyId=key_id) == not_pending
    assert state() == "Enabled"
    kms.enable_key(KeyId=key_id)  # enabling an enabled key changes nothing
    kms.disable_key(KeyId=key_id)
    kms.disable_key(KeyId=key_id)
    assert err(kms.cancel_key_deletion, KeyId=key_id) == not_pending
    assert state() == "Disabled"
    for window, bound in ((6, "greater than or equal to 7"), (31, "less than or equal to 30")):
        assert err(kms.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=window) == (
            "ValidationException",
            f"1 validation error detected: Value '{window}' at 'pendingWindowInDays' failed to satisfy"
            f" constraint: Member must have value {bound}",
        )
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    pending = ("KMSInvalidStateException", f"{arn} is pending deletion.")
    assert err(kms.disable_key, KeyId=key_id) == pending
    assert err(kms.enable_key, KeyId=key_id) == pending
    assert err(kms.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=8) == pending
    desc = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert desc["KeyState"] == "PendingDeletion" and desc["PendingDeletionWindowInDays"] == 7
    kms.cancel_key_deletion(KeyId=key_id)
    assert state() == "Disabled"


def test_rotation_on_demand_old_ciphertexts_decrypt(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    old = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"v1", EncryptionContext={"app": "x"})["CiphertextBlob"]
    out = server.aws("kms", "rotate-key-on-demand", "--key-id", meta["KeyId"])
    assert out.returncode == 0, out.stderr
    rotations = kms.list_key_rotations(KeyId=meta["KeyId"])["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    new = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"v2", EncryptionContext={"app": "x"})["CiphertextBlob"]
    assert new[17:21] != old[17:21]  # the backing-key version in the header
    assert kms.decrypt(CiphertextBlob=old, EncryptionContext={"app": "x"})["Plaintext"] == b"v1"
    assert kms.decrypt(CiphertextBlob=new, EncryptionContext={"app": "x"})["Plaintext"] == b"v2"
    re = kms.re_encrypt(
        CiphertextBlob=old, SourceEncryptionContext={"app": "x"}, DestinationKeyId=meta["KeyId"]
    )
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"] == b"v1"


def test_rotation_status_and_scheduled_rotation_worker(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    status = kms.get_key_rotation_status(KeyId=meta["KeyId"])
    assert status["KeyRotationEnabled"] is False
    status, body = raw(server, "EnableKeyRotation", {"KeyId": meta["KeyId"], "RotationPeriodInDays": 10})
    assert status == 400 and body["__type"] == "ValidationException"
    assert "Member must have value greater than or equal to 90" in body["message"]
    kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=meta["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    old = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    try:
        server.admin_post("/_fleetward/clock", json.dumps({"offset": 91 * DAY}).encode())
        time.sleep(2.5)  # the worker runs every second in test mode
    finally:
        server.admin_post("/_fleetward/clock", b'{"offset": 0}')
    rotations = kms.list_key_rotations(KeyId=meta["KeyId"])["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    kms.disable_key_rotation(KeyId=meta["KeyId"])
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is False


def test_deletion_worker_destroys_only_after_window(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    alias = f"alias/doomed-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=5)
    assert code_of(e) == "ValidationException"
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    time.sleep(1.5)
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    try:
        server.admin_post("/_fleetward/clock", json.dumps({"offset": 7 * DAY + 60}).encode())
        time.sleep(2.5)
    finally:
        server.admin_post("/_fleetward/clock", b'{"offset": 0}')
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_key(KeyId=meta["KeyId"])
    assert code_of(e) == "NotFoundException"
    assert msg_of(e) == f"Key '{meta['Arn']}' does not exist"
    assert alias not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]


def test_errors_as_aws(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    arn = meta["Arn"]
    account = meta["AWSAccountId"]
    missing = str(uuid.uuid4())

    def err(fn: Any, **kw: Any) -> tuple[str, str]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            fn(**kw)
        return code_of(e), msg_of(e)

    assert err(kms.describe_key, KeyId=missing) == (
        "NotFoundException",
        f"Key 'arn:aws:kms:us-east-1:{account}:key/{missing}' does not exist",
    )
    assert err(kms.encrypt, KeyId="alias/none-such", Plaintext=b"x") == (
        "NotFoundException",
        f"Alias arn:aws:kms:us-east-1:{account}:alias/none-such is not found.",
    )
    assert err(kms.encrypt, KeyId="bogus", Plaintext=b"x") == ("NotFoundException", "Invalid keyId bogus")
    alias = f"alias/dup-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    assert err(kms.create_alias, AliasName=alias, TargetKeyId=meta["KeyId"]) == (
        "AlreadyExistsException",
        f"An alias with the name arn:aws:kms:us-east-1:{account}:{alias} already exists",
    )
    other = new_key(server)
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"p", EncryptionContext={"k": "v"})["CiphertextBlob"]
    assert err(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"k": "v"}, KeyId=other["KeyId"])[0] == (
        "IncorrectKeyException"
    )
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"}, KeyId=alias)["Plaintext"] == b"p"
    assert (
        err(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"k": "w"})[0] == "InvalidCiphertextException"
    )
    # KMS keys are regional: the blob does not open in another region.
    elsewhere = boto3.client(
        "kms",
        endpoint_url=server.endpoint,
        region_name="eu-west-1",
        aws_access_key_id=server.admin[0],
        aws_secret_access_key=server.admin[1],
        config=NO_RETRY,
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        elsewhere.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})
    assert code_of(e) == "InvalidCiphertextException"
    assert err(elsewhere.encrypt, KeyId=arn, Plaintext=b"x") == (
        "NotFoundException",
        f"Key '{arn}' does not exist",
    )
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    assert err(kms.decrypt, CiphertextBlob=bytes(tampered), EncryptionContext={"k": "v"})[0] == (
        "InvalidCiphertextException"
    )
    assert err(kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")[0] == "UnsupportedOperationException"
    assert err(kms.generate_data_key, KeyId=arn)[0] == "ValidationException"
    dk = kms.generate_data_key(KeyId=arn, KeySpec="AES_256", EncryptionContext={"a": "b"})
    assert len(dk["Plaintext"]) == 32
    assert (
        kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"a": "b"})["Plaintext"]
        == dk["Plaintext"]
    )
    assert "Plaintext" not in kms.generate_data_key_without_plaintext(KeyId=arn, NumberOfBytes=16)
    assert len(kms.generate_random(NumberOfBytes=64)["Plaintext"]) == 64
    assert err(kms.enable_key, KeyId=alias)[0] == "NotFoundException"  # aliases not accepted here


def _lockout_policy(server: Server) -> str:
    """A key policy that gives the key to another user only: it locks the caller out."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": other_user(server)},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_key_policy_get_put_lockout(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    account = meta["AWSAccountId"]
    policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Sid"] == "Enable IAM User Permissions"
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert kms.list_key_policies(KeyId=meta["KeyId"])["PolicyNames"] == ["default"]
    for call, kw in ((kms.get_key_policy, {}), (kms.put_key_policy, {"Policy": json.dumps(policy)})):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(KeyId=meta["KeyId"], PolicyName="other", **kw)
        assert (code_of(e), msg_of(e)) == ("NotFoundException", "No such policy exists")
    lockout = _lockout_policy(server)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=lockout)
    assert code_of(e) == "MalformedPolicyDocumentException"
    assert msg_of(e) == "The new key policy will not allow you to update the key policy in the future."
    assert json.loads(kms.get_key_policy(KeyId=meta["KeyId"])["Policy"]) == policy  # unchanged
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.put_key_policy(KeyId=meta["KeyId"], Policy='{"Statement": [{"Effect": "Allow"}]}')
    assert code_of(e) == "MalformedPolicyDocumentException"


def test_lockout_bypass_and_policy_size(server: Server) -> None:
    kms = server.client("kms")
    lockout = _lockout_policy(server)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(Policy=lockout)
    assert (code_of(e), msg_of(e)) == (
        "MalformedPolicyDocumentException",
        "The new key policy will not allow you to update the key policy in the future.",
    )
    # BypassPolicyLockoutSafetyCheck: the key is made, and the caller is then locked out.
    locked = kms.create_key(Policy=lockout, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.put_key_policy(KeyId=locked["KeyId"], PolicyName="default", Policy=lockout)
    assert code_of(e) == "AccessDeniedException"
    other = new_key(server)
    kms.put_key_policy(
        KeyId=other["KeyId"], PolicyName="default", Policy=lockout, BypassPolicyLockoutSafetyCheck=True
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.get_key_policy(KeyId=other["KeyId"])
    assert code_of(e) == "AccessDeniedException"
    # Over the 32 KB key policy quota (within the model's 131072 characters): LimitExceededException.
    big = json.loads(lockout)
    big["Statement"][0]["Sid"] = "x" * 33000
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(Policy=json.dumps(big), BypassPolicyLockoutSafetyCheck=True)
    assert code_of(e) == "LimitExceededException"


def test_key_policy_principals_must_exist(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    account = meta["AWSAccountId"]
    admin = server.client("sts").get_caller_identity()["Arn"]
    someone = other_user(server, path="/team/")

    def policy(principal: str) -> str:
        statements = [
            {"Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": [principal]}, "Action": "kms:Decrypt", "Resource": "*"},
        ]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    invalid = (
        "MalformedPolicyDocumentException",
        "Policy contains a statement with one or more invalid principals.",
    )
    for missing in (
        f"arn:aws:iam::{account}:user/nobody-{uuid.uuid4().hex[:6]}",
        f"arn:aws:iam::{account}:role/none-{uuid.uuid4().hex[:6]}",
        someone.replace("/team/", "/"),  # the right name on another path is another user
    ):
        for call, kw in (
            (kms.create_key, {}),
            (kms.put_key_policy, {"KeyId": meta["KeyId"], "PolicyName": "default"}),
        ):
            with pytest.raises(botocore.exceptions.ClientError) as e:
                call(Policy=policy(missing), BypassPolicyLockoutSafetyCheck=True, **kw)
            assert (code_of(e), msg_of(e)) == invalid
    # Existing users, account roots, wildcards and accounts this installation does not hold pass.
    for fine in (someone, f"arn:aws:iam::{account}:root", "*", "arn:aws:iam::999999999999:user/elsewhere"):
        kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=policy(fine))
        kms.create_key(Policy=policy(fine))


def test_tags(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server, Tags=[{"TagKey": "team", "TagValue": "a"}])
    kms.tag_resource(
        KeyId=meta["KeyId"], Tags=[{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "b"}]
    )
    tags = kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"]
    assert tags == [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "b"}]
    kms.untag_resource(KeyId=meta["KeyId"], TagKeys=["env"])
    assert kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "b"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.tag_resource(KeyId=meta["KeyId"], Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    assert code_of(e) == "TagException"


def test_managed_ssm_key(server: Server) -> None:
    kms = server.client("kms")
    meta = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert meta["Description"] == "Default key that protects my SSM parameters when no other key is defined"
    again = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert again["KeyId"] == meta["KeyId"]
    names = [a["AliasName"] for a in kms.list_aliases(KeyId=meta["KeyId"])["Aliases"]]
    assert names == ["alias/aws/ssm"]
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    # Not usable directly (kms:ViaService), not rotatable, deletable or editable by users.
    for call, kw in [
        (kms.encrypt, {"KeyId": "alias/aws/ssm", "Plaintext": b"x"}),
        (kms.enable_key_rotation, {"KeyId": meta["KeyId"]}),
        (kms.rotate_key_on_demand, {"KeyId": meta["KeyId"]}),
        (kms.schedule_key_deletion, {"KeyId": meta["KeyId"]}),
        (kms.put_key_policy, {"KeyId": meta["KeyId"], "Policy": "{}"}),
        (kms.disable_key, {"KeyId": meta["KeyId"]}),
        (kms.delete_alias, {"AliasName": "alias/aws/ssm"}),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(**kw)
        assert code_of(e) in (
            "AccessDeniedException",
            "UnsupportedOperationException",
            "NotAuthorizedException",
        )
    after = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert after["KeyState"] == "Enabled"


def test_list_keys_and_aliases_paging(server: Server) -> None:
    kms = server.client("kms")
    ids = {new_key(server)["KeyId"] for _ in range(3)}
    seen: set[str] = set()
    marker: dict[str, str] = {}
    while True:
        page = kms.list_keys(Limit=2, **marker)
        seen.update(k["KeyId"] for k in page["Keys"])
        if not page["Truncated"]:
            break
        marker = {"Marker": page["NextMarker"]}
    assert ids <= seen


def test_predefined_alias_listed_before_first_use(server: Server) -> None:
    """AWS lists alias/aws/ssm without TargetKeyId until its managed key exists."""
    region = "ap-southeast-2"  # a region of this server nothing has used yet
    kms = boto3.client(
        "kms",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=server.admin[0],
        aws_secret_access_key=server.admin[1],
        config=NO_RETRY,
    )
    account = server.client("sts").get_caller_identity()["Account"]
    predefined = {"AliasName": "alias/aws/ssm", "AliasArn": f"arn:aws:kms:{region}:{account}:alias/aws/ssm"}
    assert kms.list_aliases()["Aliases"] == [predefined]
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2)]
    for name, key in (("alias/a", keys[0]), ("alias/b", keys[1]), ("alias/z", keys[0])):
        kms.create_alias(AliasName=name, TargetKeyId=key)

    def pages(**kw: Any) -> list[list[dict[str, Any]]]:
        out, marker = [], {}
        while True:
            page = kms.list_aliases(Limit=1, **kw, **marker)
            out.append(page["Aliases"])
            if not page["Truncated"]:
                return out
            marker = {"Marker": page["NextMarker"]}

    listed = [a for page in pages() for a in page]
    names = [a["AliasName"] for a in listed]
    assert sorted(names) == ["alias/a", "alias/aws/ssm", "alias/b", "alias/z"]
    assert {a["AliasName"]: a.get("TargetKeyId") for a in listed}["alias/aws/ssm"] is None
    assert [a["AliasName"] for page in pages(KeyId=keys[0]) for a in page] == ["alias/a", "alias/z"]
    managed = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]  # first use creates the key
    listed = [a for page in pages() for a in page]
    assert [a["AliasName"] for a in listed] == names
    entry = next(a for a in listed if a["AliasName"] == "alias/aws/ssm")
    assert entry["TargetKeyId"] == managed["KeyId"] and "CreationDate" in entry


def test_alias_name_and_target_rules(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server)
    account = meta["AWSAccountId"]
    alias = f"alias/rules-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["Arn"])

    def err(fn: Any, **kw: Any) -> tuple[str, str]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            fn(**kw)
        return code_of(e), msg_of(e)

    for call in (kms.create_alias, kms.update_alias):
        assert err(call, AliasName="alias/aws/mine", TargetKeyId=meta["KeyId"]) == (
            "NotAuthorizedException",
            "",
        )
        assert err(call, AliasName="wrongprefix/x", TargetKeyId=meta["KeyId"]) == (
            "ValidationException",
            "Invalid identifier",
        )
        assert err(call, AliasName="alias/my:alias", TargetKeyId=meta["KeyId"]) == (
            "ValidationException",
            "alias/my:alias contains invalid characters for an alias",
        )
        for target in (alias, f"arn:aws:kms:us-east-1:{account}:{alias}"):
            assert err(call, AliasName=f"{alias}-2", TargetKeyId=target) == (
                "ValidationException",
                "Aliases must refer to keys. Not aliases",
            )
    assert err(kms.delete_alias, AliasName="alias/aws/ssm") == ("NotAuthorizedException", "")
    assert err(kms.delete_alias, AliasName="wrongprefix/x") == ("ValidationException", "Invalid identifier")
    assert err(kms.delete_alias, AliasName="alias/none-such") == (
        "NotFoundException",
        f"Alias arn:aws:kms:us-east-1:{account}:alias/none-such is not found.",
    )
    assert err(kms.enable_key_rotation, KeyId=alias) == ("NotFoundException", f"Invalid keyId {alias}")
    assert err(kms.put_key_policy, KeyId=alias, Policy="{}") == (
        "NotFoundException",
        f"Invalid keyId {alias}",
    )
    # Nothing was created or re-pointed by the refused calls.
    names = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert names[alias] == meta["KeyId"] and f"{alias}-2" not in names and "alias/aws/mine" not in names


def test_update_key_description(server: Server) -> None:
    kms = server.client("kms")
    meta = new_key(server, Description="before")
    kms.update_key_description(KeyId=meta["Arn"], Description="after")
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == "after"
    kms.update_key_description(KeyId=meta["KeyId"], Description="")
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == ""
    alias = f"alias/desc-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.update_key_description(KeyId=alias, Description="x")
    assert (code_of(e), msg_of(e)) == ("NotFoundException", f"Invalid keyId {alias}")
    managed = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.update_key_description(KeyId=managed["KeyId"], Description="mine now")
    assert code_of(e) in ("AccessDeniedException", "UnsupportedOperationException")
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.update_key_description(KeyId=meta["KeyId"], Description="x")
    assert (code_of(e), msg_of(e)) == ("KMSInvalidStateException", f"{meta['Arn']} is pending deletion.")
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == ""
    assert kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]["Description"] == managed["Description"]
