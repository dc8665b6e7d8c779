"""KMS behaviours other AWS emulators' conformance suites check (moto's KMS
tests, run against a ``--dev`` server), through the real server."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from tests.support.server import Server

ROOT = "arn:aws:iam::123456789012:root"


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT_ALLOW = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": ROOT},
    "Action": "kms:*",
    "Resource": "*",
}


def test_dev_administrator_is_stopped_by_an_explicit_deny_in_the_key_policy(dev_server: Server) -> None:
    """The dev-mode administrator needs no policy, but an explicit Deny in a key
    policy binds it as it binds any AWS principal; what is not denied still works."""
    kms = dev_server.client("kms")
    key = kms.create_key(Description="t")["KeyMetadata"]
    deny = {
        "Sid": "NoDescribe",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:Describe*",
        "Resource": "*",
    }
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(ROOT_ALLOW, deny))

    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_key(KeyId=key["KeyId"])
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDeniedException"
    assert err["Message"] == (
        f"User: arn:aws:iam::123456789012:user/admin is not authorized to perform: kms:DescribeKey"
        f" on resource: {key['Arn']} with an explicit deny in a resource-based policy"
    )
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"ok")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"ok"

    # A Deny whose condition does not match denies nothing.
    conditional = {**deny, "Condition": {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(ROOT_ALLOW, conditional))
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == "t"


def test_dev_explicit_deny_binds_parameter_store_calls_as_the_caller(dev_server: Server) -> None:
    """Parameter Store encrypts as the caller: a key policy Deny on kms:Encrypt
    refuses the SecureString (AccessDeniedException from KMS), as on AWS."""
    kms = dev_server.client("kms")
    ssm = dev_server.client("ssm")
    key = kms.create_key()["KeyMetadata"]
    deny = {"Sid": "NoEncrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_policy(ROOT_ALLOW, deny))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.put_parameter(Name="/conf/denied", Value="v", Type="SecureString", KeyId=key["KeyId"])
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.get_parameter(Name="/conf/denied")
    assert e.value.response["Error"]["Code"] == "ParameterNotFound"


@pytest.mark.parametrize(
    ("create", "supported", "unsupported"),
    [
        ({}, ["Decrypt", "GenerateDataKey", "ReEncryptTo", "DescribeKey", "RetireGrant"], "Sign"),
        ({}, ["Encrypt"], "GetPublicKey"),
        (
            {"KeyUsage": "SIGN_VERIFY", "KeySpec": "ECC_NIST_P256"},
            ["Sign", "Verify", "GetPublicKey"],
            "Decrypt",
        ),
        (
            {"KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "RSA_2048"},
            ["Decrypt", "GetPublicKey"],
            "GenerateDataKey",
        ),
        ({"KeyUsage": "GENERATE_VERIFY_MAC", "KeySpec": "HMAC_256"}, ["GenerateMac", "VerifyMac"], "Encrypt"),
    ],
)
def test_grant_operations_must_be_supported_on_the_key(
    dev_server: Server, create: dict[str, str], supported: list[str], unsupported: str
) -> None:
    """CreateGrant's Operations must be supported on the KMS key (no Sign on a
    symmetric encryption key, no GenerateDataKey on an asymmetric one): otherwise
    a ValidationException and no grant, as the service model documents."""
    kms = dev_server.client("kms")
    key = kms.create_key(**create)["KeyMetadata"]
    grantee = "arn:aws:iam::123456789012:root"
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee, Operations=supported)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_grant(
            KeyId=key["KeyId"],
            GranteePrincipal=grantee,
            Operations=[supported[0], unsupported],
        )
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert unsupported in err["Message"]
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 1


@pytest.mark.parametrize(("operation", "maximum"), [("list_aliases", 100), ("list_resource_tags", 50)])
def test_list_limits_are_those_the_service_model_documents(
    dev_server: Server, operation: str, maximum: int
) -> None:
    """ListAliases takes a Limit of 1 to 100, ListResourceTags 1 to 50 (the shapes
    allow up to 1000): past that, AWS's constraint ValidationException."""
    kms = dev_server.client("kms")
    key = kms.create_key(Tags=[{"TagKey": "k", "TagValue": "v"}])["KeyMetadata"]
    call = getattr(kms, operation)
    kwargs = {"KeyId": key["KeyId"]}
    assert call(Limit=maximum, **kwargs)["Truncated"] is False
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(Limit=maximum + 1, **kwargs)
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert err["Message"] == (
        f"1 validation error detected: Value '{maximum + 1}' at 'limit' failed to satisfy constraint: "
        f"Member must have value less than or equal to {maximum}"
    )


def test_grant_constraint_values_are_at_most_384_characters(dev_server: Server) -> None:
    """An encryption context value in a grant constraint cannot exceed 384 characters."""
    kms = dev_server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    grantee = "arn:aws:iam::123456789012:root"
    for kind in ("EncryptionContextSubset", "EncryptionContextEquals"):
        kms.create_grant(
            KeyId=key["KeyId"],
            GranteePrincipal=grantee,
            Operations=["Decrypt"],
            Constraints={kind: {"k": "v" * 384}},
        )
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.create_grant(
                KeyId=key["KeyId"],
                GranteePrincipal=grantee,
                Operations=["Decrypt"],
                Constraints={kind: {"k": "v" * 385}},
            )
        assert e.value.response["Error"]["Code"] == "ValidationException"
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 2


def test_rotation_status_is_false_while_pending_deletion(dev_server: Server) -> None:
    """GetKeyRotationStatus: a key pending deletion reports rotation off; cancelling
    the deletion brings the original status back. Disabling changes nothing."""
    kms = dev_server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    kms.disable_key(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    pending = kms.get_key_rotation_status(KeyId=key)
    assert pending["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in pending and "RotationPeriodInDays" not in pending
    kms.cancel_key_deletion(KeyId=key)
    restored = kms.get_key_rotation_status(KeyId=key)
    assert restored["KeyRotationEnabled"] is True
    assert restored["RotationPeriodInDays"] == 180


def test_key_material_ids(dev_server: Server) -> None:
    """Symmetric encryption keys name their current key material (DescribeKey's
    CurrentKeyMaterialId); ListKeyRotations entries carry KeyMaterialId and
    KeyMaterialState, and IncludeKeyMaterial=ALL_KEY_MATERIAL adds the first
    key material (without RotationDate and RotationType)."""
    kms = dev_server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    first = key["CurrentKeyMaterialId"]
    assert len(first) == 64 and int(first, 16) >= 0
    assert kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"] == []
    only = kms.list_key_rotations(KeyId=key["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert only == [{"KeyId": key["KeyId"], "KeyMaterialId": first, "KeyMaterialState": "CURRENT"}]

    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    current = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert current != first
    rotations = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert [(r["KeyMaterialId"], r["KeyMaterialState"], r["RotationType"]) for r in rotations] == [
        (current, "CURRENT", "ON_DEMAND")
    ]
    every = kms.list_key_rotations(KeyId=key["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [(r["KeyMaterialId"], r["KeyMaterialState"]) for r in every] == [
        (first, "NON_CURRENT"),
        (current, "CURRENT"),
    ]
    assert "RotationDate" not in every[0] and "RotationDate" in every[1]

    signing = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]
    assert "CurrentKeyMaterialId" not in signing


def test_cryptographic_operations_name_the_key_material_they_used(dev_server: Server) -> None:
    """Decrypt, GenerateDataKey(WithoutPlaintext) and ReEncrypt return the
    KeyMaterialId of the symmetric key material involved (the model's
    KeyMaterialId, SourceKeyMaterialId, DestinationKeyMaterialId); asymmetric
    ciphertexts have none."""
    kms = dev_server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    first = key["CurrentKeyMaterialId"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    made = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert made["KeyMaterialId"] == first
    bare = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=16)
    assert bare["KeyMaterialId"] == first

    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    second = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    # An old ciphertext is opened with the material that made it.
    assert kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"] == first
    moved = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key["KeyId"])
    assert (moved["SourceKeyMaterialId"], moved["DestinationKeyMaterialId"]) == (first, second)
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["KeyMaterialId"] == second

    rsa = kms.create_key(KeyUsage="ENCRYPT_DECRYPT", KeySpec="RSA_2048")["KeyMetadata"]
    to_rsa = kms.re_encrypt(
        CiphertextBlob=blob,
        DestinationKeyId=rsa["KeyId"],
        DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert to_rsa["SourceKeyMaterialId"] == first and "DestinationKeyMaterialId" not in to_rsa
    opened = kms.decrypt(
        CiphertextBlob=to_rsa["CiphertextBlob"], KeyId=rsa["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert opened["Plaintext"] == b"x" and "KeyMaterialId" not in opened
