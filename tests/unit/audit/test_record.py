import orjson

from fleetward.audit.record import build_record, hide_secrets, user_identity
from fleetward.auth.principal import Principal, PrincipalType
from fleetward.protocol.redact import HIDDEN
from tests.unit.audit.helpers import principal, record


def test_schema_of_a_mutating_call() -> None:
    r = record(1_700_000_000.5)
    rec = orjson.loads(r.text)
    assert rec["eventVersion"] == "1.11"
    assert rec["eventTime"] == "2023-11-14T22:13:20Z"
    assert rec["userIdentity"]["type"] == "IAMUser"
    assert rec["userIdentity"]["userName"] == "alice"
    assert rec["eventType"] == "AwsApiCall"
    assert rec["eventCategory"] == "Management"
    assert rec["managementEvent"] is True
    assert rec["readOnly"] is False
    assert rec["responseElements"] == {"version": 1}
    assert rec["resources"][0]["accountId"] == rec["recipientAccountId"]
    assert r.username == "alice"


def test_read_only_calls_record_no_response() -> None:
    rec = orjson.loads(record(1.0, event="GetParameter").text)
    assert rec["readOnly"] is True
    assert rec["responseElements"] is None


def test_secrets_hidden_wherever_they_appear() -> None:
    r = record(
        1.0,
        event="CreateAccessKey",
        request_parameters={"userName": "bob"},
        response_elements={
            "AccessKey": {"AccessKeyId": "AKIA", "SecretAccessKey": "s3cr3t"},
            "Credentials": {"SessionToken": "tok"},
        },
    )
    assert "s3cr3t" not in r.text and "tok" not in r.text
    assert r.record["responseElements"]["AccessKey"]["SecretAccessKey"] == HIDDEN
    assert hide_secrets({"a": [{"TokenValue": "x"}]}) == {"a": [{"TokenValue": HIDDEN}]}


def test_assumed_role_identity() -> None:
    from datetime import UTC, datetime

    p = Principal(
        type=PrincipalType.ASSUMED_ROLE,
        account="111122223333",
        arn="arn:aws:sts::111122223333:assumed-role/R/s1",
        principal_id="AROAEXAMPLE:s1",
        access_key="ASIAEXAMPLE",
        name="s1",
        role_arn="arn:aws:iam::111122223333:role/R",
        role_name="R",
        session_name="s1",
        session_created=datetime(2024, 1, 1, tzinfo=UTC),
        mfa=True,
    )
    ident = user_identity(p)
    assert ident["sessionContext"]["sessionIssuer"] == {
        "type": "Role",
        "principalId": "AROAEXAMPLE",
        "arn": "arn:aws:iam::111122223333:role/R",
        "accountId": "111122223333",
        "userName": "R",
    }
    assert ident["sessionContext"]["attributes"] == {
        "creationDate": "2024-01-01T00:00:00Z",
        "mfaAuthenticated": "true",
    }


def test_unauthenticated_and_service_calls() -> None:
    assert user_identity(None, "AKIAX") == {"type": "Unknown", "accessKeyId": "AKIAX"}
    r = build_record(
        principal=principal(),
        account="111122223333",
        access_key=None,
        region="us-east-1",
        event_source="kms.amazonaws.com",
        event_name="Decrypt",
        event_time=1.0,
        request_id="r",
        source_ip="1.2.3.4",
        user_agent="ua",
        read_only=True,
        request_parameters={"CiphertextBlob": b"\x00\x01"},
        response_elements=None,
        resources=[],
        invoked_by="ssm.amazonaws.com",
    )
    rec = orjson.loads(r.text)
    assert rec["userIdentity"]["invokedBy"] == "ssm.amazonaws.com"
    assert rec["sourceIPAddress"] == "ssm.amazonaws.com"
    assert rec["requestParameters"]["CiphertextBlob"] == "AAE="


def test_user_session_identity() -> None:
    """GetSessionToken credentials: the user, with the session's attributes (MFA or not)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    created = datetime(2024, 1, 1, 12, 30, tzinfo=UTC)
    for mfa in (False, True):
        p = replace(principal(), access_key="ASIAEXAMPLE", session_created=created, mfa=mfa)
        ident = user_identity(p)
        assert ident["type"] == "IAMUser" and ident["userName"] == p.name
        assert ident["sessionContext"] == {
            "attributes": {"creationDate": "2024-01-01T12:30:00Z", "mfaAuthenticated": str(mfa).lower()}
        }
    assert "sessionContext" not in user_identity(principal())  # long-term access key


def test_members_are_named_as_cloudtrail_records_them() -> None:
    """lowerCamelCase structure members at every depth; map keys are data."""
    import botocore.session

    from fleetward.audit.record import cloudtrail_names

    session = botocore.session.get_session()
    put = session.get_service_model("ssm").operation_model("PutParameter")
    assert cloudtrail_names(
        put.input_shape,
        {"Name": "/a", "Value": HIDDEN, "Type": "SecureString", "Tags": [{"Key": "Env", "Value": "prod"}]},
    ) == {"name": "/a", "value": HIDDEN, "type": "SecureString", "tags": [{"key": "Env", "value": "prod"}]}
    assert cloudtrail_names(put.output_shape, {"Version": 1, "Tier": "Standard"}) == {
        "version": 1,
        "tier": "Standard",
    }
    enc = session.get_service_model("kms").operation_model("Encrypt")
    assert cloudtrail_names(enc.input_shape, {"KeyId": "k", "EncryptionContext": {"PARAMETER_ARN": "x"}}) == {
        "keyId": "k",
        "encryptionContext": {"PARAMETER_ARN": "x"},
    }
    user = session.get_service_model("iam").operation_model("CreateAccessKey")
    assert cloudtrail_names(
        user.output_shape, {"AccessKey": {"UserName": "u", "SecretAccessKey": HIDDEN}}
    ) == {"accessKey": {"userName": "u", "secretAccessKey": HIDDEN}}


def test_global_services_record_their_home_region() -> None:
    from fleetward.audit.record import event_region

    assert event_region("iam", "eu-west-1") == "us-east-1"  # not regionalized (botocore's endpoint data)
    assert event_region("sts", "eu-west-1") == "eu-west-1"  # regional endpoints
    assert event_region("ssm", "ap-south-1") == "ap-south-1"
