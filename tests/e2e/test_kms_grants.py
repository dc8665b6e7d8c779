"""KMS grants with real IAM: a grant alone lets a user with no IAM policy use the key for
the granted operations only, its encryption-context constraints are exact, an explicit
deny still wins, and retiring / revoking takes the permission away at once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


def _user(server: Server) -> tuple[str, tuple[str, str]]:
    """A user with no IAM policy at all."""
    name = f"g{uuid.uuid4().hex[:10]}"
    iam = server.client("iam")
    arn: str = iam.create_user(UserName=name)["User"]["Arn"]
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (k["AccessKeyId"], k["SecretAccessKey"])


def _code(fn: Any, **kw: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return str(e.value.response["Error"]["Code"])


def test_grant_allows_only_its_operations_until_revoked(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    user_arn, creds = _user(server)
    user = server.client("kms", creds=creds)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    assert _code(user.decrypt, CiphertextBlob=blob) == "AccessDeniedException"

    made = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user_arn, Operations=["Decrypt"], Name="g1")
    assert len(made["GrantId"]) == 64
    assert user.decrypt(CiphertextBlob=blob, GrantTokens=[made["GrantToken"]])["Plaintext"] == b"secret"
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"  # consistent at once
    assert _code(user.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    assert _code(user.describe_key, KeyId=key["KeyId"]) == "AccessDeniedException"
    assert (
        _code(user.decrypt, CiphertextBlob=blob, GrantTokens=["not-a-token"]) == "InvalidGrantTokenException"
    )

    # Name makes a retry idempotent: same id, a new token.
    again = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user_arn, Operations=["Decrypt"], Name="g1")
    assert again["GrantId"] == made["GrantId"] and again["GrantToken"] != made["GrantToken"]
    grants = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert len(grants) == 1
    entry = grants[0]
    assert entry["KeyId"] == key["Arn"] and entry["GrantId"] == made["GrantId"] and entry["Name"] == "g1"
    assert entry["GranteePrincipal"] == user_arn and entry["Operations"] == ["Decrypt"]
    assert entry["IssuingAccount"] == f"arn:aws:iam::{key['AWSAccountId']}:root"
    assert "Constraints" not in entry and "RetiringPrincipal" not in entry

    # The grantee cannot retire a grant without RetireGrant in it; the account can revoke.
    assert _code(user.retire_grant, GrantToken=made["GrantToken"]) == "AccessDeniedException"
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 1
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"])
    assert _code(user.decrypt, CiphertextBlob=blob) == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=made["GrantId"])
    assert e.value.response["Error"]["Message"] == f"Grant ID {made['GrantId']} not found"


def test_grant_constraints_are_exact(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    user_arn, creds = _user(server)
    user = server.client("kms", creds=creds)
    kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=user_arn,
        Operations=["Encrypt", "DescribeKey"],
        Constraints={"EncryptionContextSubset": {"app": "web"}},
    )
    kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=user_arn,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextEquals": {"app": "web"}},
    )
    kid = key["KeyId"]
    assert user.encrypt(KeyId=kid, Plaintext=b"a", EncryptionContext={"app": "web", "x": "y"})["KeyId"]
    assert _code(user.encrypt, KeyId=kid, Plaintext=b"a") == "AccessDeniedException"
    assert _code(user.encrypt, KeyId=kid, Plaintext=b"a", EncryptionContext={"App": "web"}) == (
        "AccessDeniedException"
    )
    assert _code(user.encrypt, KeyId=kid, Plaintext=b"a", EncryptionContext={"app": "Web"}) == (
        "AccessDeniedException"
    )
    # The constraint does not apply to DescribeKey.
    assert user.describe_key(KeyId=kid)["KeyMetadata"]["KeyId"] == kid
    exact = kms.encrypt(KeyId=kid, Plaintext=b"e", EncryptionContext={"app": "web"})["CiphertextBlob"]
    wider = kms.encrypt(KeyId=kid, Plaintext=b"w", EncryptionContext={"app": "web", "x": "y"})[
        "CiphertextBlob"
    ]
    assert user.decrypt(CiphertextBlob=exact, EncryptionContext={"app": "web"})["Plaintext"] == b"e"
    assert _code(user.decrypt, CiphertextBlob=wider, EncryptionContext={"app": "web", "x": "y"}) == (
        "AccessDeniedException"
    )
    listed = {json.dumps(g.get("Constraints"), sort_keys=True) for g in kms.list_grants(KeyId=kid)["Grants"]}
    assert listed == {
        json.dumps({"EncryptionContextSubset": {"app": "web"}}),
        json.dumps({"EncryptionContextEquals": {"app": "web"}}),
    }


def test_explicit_deny_in_key_policy_beats_a_grant(server: Server) -> None:
    kms = server.client("kms")
    admin = server.client("sts").get_caller_identity()["Arn"]
    user_arn, creds = _user(server)
    user = server.client("kms", creds=creds)
    account = admin.split(":")[4]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "kms:Encrypt", "Resource": "*"},
        ],
    }
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user_arn, Operations=["Encrypt", "GenerateDataKey"])
    assert _code(user.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    assert len(user.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")["Plaintext"]) == 32


def test_retire_by_retiring_principal_and_by_grantee(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    grantee_arn, grantee_creds = _user(server)
    retiree_arn, retiree_creds = _user(server)
    grantee = server.client("kms", creds=grantee_creds)
    retiree = server.client("kms", creds=retiree_creds)
    g1 = kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=grantee_arn,
        RetiringPrincipal=retiree_arn,
        Operations=["Encrypt"],
    )
    g2 = kms.create_grant(
        KeyId=key["KeyId"], GranteePrincipal=grantee_arn, Operations=["Encrypt", "RetireGrant"]
    )
    listed = kms.list_retirable_grants(RetiringPrincipal=retiree_arn)["Grants"]
    assert [g["GrantId"] for g in listed] == [g1["GrantId"]] and listed[0]["KeyId"] == key["Arn"]
    # The retiring principal may retire g1 but not g2.
    assert _code(retiree.retire_grant, KeyId=key["Arn"], GrantId=g2["GrantId"]) == "AccessDeniedException"
    retiree.retire_grant(KeyId=key["Arn"], GrantId=g1["GrantId"])
    grantee.retire_grant(GrantToken=g2["GrantToken"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    assert _code(grantee.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == "AccessDeniedException"


def test_create_grant_validation(server: Server) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    user_arn, creds = _user(server)
    kid = key["KeyId"]
    assert _code(kms.create_grant, KeyId=kid, GranteePrincipal="nobody", Operations=["Decrypt"]) == (
        "InvalidArnException"
    )
    assert _code(
        kms.create_grant, KeyId=kid, GranteePrincipal=user_arn, RetiringPrincipal="x", Operations=["Decrypt"]
    ) == ("InvalidArnException")
    assert _code(kms.create_grant, KeyId=kid, GranteePrincipal=user_arn, Operations=["DECRYPT"]) == (
        "ValidationException"
    )
    alias = f"alias/grant-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=kid)
    assert _code(kms.create_grant, KeyId=alias, GranteePrincipal=user_arn, Operations=["Decrypt"]) == (
        "NotFoundException"
    )
    kms.disable_key(KeyId=kid)
    assert _code(kms.create_grant, KeyId=kid, GranteePrincipal=user_arn, Operations=["Decrypt"]) == (
        "DisabledException"
    )
    assert kms.list_grants(KeyId=kid)["Grants"] == []
    # A grantee with CreateGrant may only pass on what it holds, as strictly constrained.
    kms.enable_key(KeyId=kid)
    other_arn, _ = _user(server)
    user = server.client("kms", creds=creds)
    kms.create_grant(
        KeyId=kid,
        GranteePrincipal=user_arn,
        Operations=["Decrypt", "CreateGrant"],
        Constraints={"EncryptionContextSubset": {"app": "web"}},
    )
    assert _code(user.create_grant, KeyId=kid, GranteePrincipal=other_arn, Operations=["Decrypt"]) == (
        "AccessDeniedException"
    )
    assert _code(
        user.create_grant,
        KeyId=kid,
        GranteePrincipal=other_arn,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextSubset": {"app": "web"}},
    ) == ("AccessDeniedException")
    user.create_grant(
        KeyId=kid,
        GranteePrincipal=other_arn,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextEquals": {"app": "web", "tier": "1"}},
    )
    assert len(kms.list_grants(KeyId=kid, GranteePrincipal=other_arn)["Grants"]) == 1
