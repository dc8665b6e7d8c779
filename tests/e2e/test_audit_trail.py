"""The audit trail end to end: records of every call, LookupEvents, validate, audit-or-fail."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import running_server
from tests.support.server import Server, signed_request

ALLOW_SSM = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ssm:PutParameter", "ssm:GetParameter", "iam:GetUser"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
            },
        ],
    }
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("audit"), request.param) as s:
        yield s


def _user(srv: Server, policy: str | None = None) -> tuple[str, tuple[str, str]]:
    name = f"u{uuid.uuid4().hex[:10]}"
    iam = srv.client("iam")
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (k["AccessKeyId"], k["SecretAccessKey"])


def _lookup(srv: Server, key: str, value: str) -> list[dict[str, Any]]:
    out = srv.aws(
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        f"AttributeKey={key},AttributeValue={value}",
        check=True,
    )
    return list(json.loads(out.stdout)["Events"])


def test_lookup_events_by_user_allowed_and_denied(srv: Server) -> None:
    alice, akeys = _user(srv, ALLOW_SSM)
    bob, bkeys = _user(srv)
    srv.client("iam", creds=akeys).get_user(UserName=alice)
    for creds in (akeys, bkeys):
        with pytest.raises(ClientError) as e:
            srv.client("iam", creds=creds).create_user(UserName=f"x{uuid.uuid4().hex[:8]}")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert "Statement" not in e.value.response["Error"]["Message"]
    secret_value = f"s3cr3t-{uuid.uuid4().hex}"
    r = srv.aws(
        "ssm",
        "put-parameter",
        "--name",
        f"/{alice}/db",
        "--type",
        "SecureString",
        "--value",
        secret_value,
        creds=akeys,
    )
    assert r.returncode == 0, r.stderr
    r = srv.aws(
        "ssm", "get-parameter", "--name", f"/{alice}/db", "--with-decryption", creds=akeys, check=True
    )
    assert secret_value in r.stdout
    events = _lookup(srv, "Username", alice)
    assert events and all(e["Username"] == alice for e in events)
    names = [e["EventName"] for e in events]
    assert "GetUser" in names and "CreateUser" in names
    for e in events:
        rec = json.loads(e["CloudTrailEvent"])
        assert rec["userIdentity"]["userName"] == alice
        # KMS calls SSM made for alice carry the service as their source (invokedBy).
        invoked = rec["userIdentity"].get("invokedBy")
        assert rec["sourceIPAddress"] == (invoked or "127.0.0.1")
        assert rec["eventName"] == e["EventName"]
        assert secret_value not in e["CloudTrailEvent"]
        if rec["eventName"] == "CreateUser":
            assert rec["errorCode"] == "AccessDenied"
            assert rec["additionalEventData"]  # the deciding reason, kept out of the error
        if rec["eventName"] == "GetUser":
            assert "errorCode" not in rec and rec["responseElements"] is None
        if rec["eventName"] == "PutParameter":  # members named as CloudTrail names them
            assert rec["requestParameters"] == {
                "name": f"/{alice}/db",
                "value": "HIDDEN_DUE_TO_SECURITY_REASONS",
                "type": "SecureString",
            }
            assert rec["responseElements"] == {"version": 1, "tier": "Standard"}
    assert {"PutParameter", "GetParameter"} <= set(names)
    # the administrator's CreateAccessKey records hide the secret
    for e in _lookup(srv, "EventName", "CreateAccessKey"):
        assert akeys[1] not in e["CloudTrailEvent"] and bkeys[1] not in e["CloudTrailEvent"]
    bob_events = _lookup(srv, "Username", bob)
    assert bob_events and all(e["Username"] == bob for e in bob_events)


def test_other_lookup_attributes_and_paging(srv: Server) -> None:
    name, keys = _user(srv, ALLOW_SSM)
    c = srv.client("iam", creds=keys)
    for _ in range(5):
        c.get_user(UserName=name)
    ct = srv.client("cloudtrail")
    akid = keys[0]
    evs = ct.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": akid}])[
        "Events"
    ]
    assert len(evs) == 5 and all(
        e["ReadOnly"] == "true" and e["EventSource"] == "iam.amazonaws.com" for e in evs
    )
    times = [e["EventTime"] for e in evs]
    assert times == sorted(times, reverse=True)
    for e in evs:  # whole seconds, the record's eventTime
        assert e["EventTime"].strftime("%Y-%m-%dT%H:%M:%SZ") == json.loads(e["CloudTrailEvent"])["eventTime"]
        assert e["EventTime"].microsecond == 0
    q = [{"AttributeKey": "AccessKeyId", "AttributeValue": akid}]
    p1 = ct.lookup_events(LookupAttributes=q, MaxResults=2)
    p2 = ct.lookup_events(LookupAttributes=q, MaxResults=2, NextToken=p1["NextToken"])
    p3 = ct.lookup_events(LookupAttributes=q, MaxResults=2, NextToken=p2["NextToken"])
    ids = [e["EventId"] for p in (p1, p2, p3) for e in p["Events"]]
    assert sorted(ids) == sorted(e["EventId"] for e in evs) and "NextToken" not in p3
    with pytest.raises(ClientError) as err:
        ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetUser"}],
            NextToken=p1["NextToken"],
        )
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"
    one = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": evs[0]["EventId"]}]
    )["Events"]
    assert [e["EventId"] for e in one] == [evs[0]["EventId"]]
    arn = f"arn:aws:iam::{json.loads(evs[0]['CloudTrailEvent'])['recipientAccountId']}:user/{name}"
    by_res = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": arn}])[
        "Events"
    ]
    assert any(e["EventName"] == "GetUser" for e in by_res)
    with pytest.raises(ClientError) as err:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "true"}] * 2)
    assert err.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    ids = {e["EventId"] for e in evs}

    def found(key: str, value: str, **kw: Any) -> set[str]:
        q = [{"AttributeKey": key, "AttributeValue": value}]
        pages = ct.get_paginator("lookup_events").paginate(LookupAttributes=q, **kw)
        return {e["EventId"] for p in pages for e in p["Events"]} & ids

    assert found("ResourceType", "AWS::IAM::User") == ids
    assert found("ResourceType", "AWS::SSM::Parameter") == set()
    assert found("EventSource", "iam.amazonaws.com") == ids
    assert found("EventSource", "ssm.amazonaws.com") == set()
    assert found("ReadOnly", "true") == ids
    assert found("ReadOnly", "false") == set()
    first, last = min(times), max(times)
    assert found("EventName", "GetUser", StartTime=first, EndTime=last) == ids  # both ends included
    assert found("EventName", "GetUser", EndTime=first - timedelta(seconds=1)) == set()
    assert found("EventName", "GetUser", StartTime=last + timedelta(seconds=1)) == set()
    with pytest.raises(ClientError) as err:
        ct.lookup_events(StartTime=last, EndTime=first - timedelta(seconds=1))
    assert err.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_lookup_events_is_regional(srv: Server) -> None:
    """As in AWS, LookupEvents answers with the events of the Region it is called in."""
    import boto3

    from tests.support.server import NO_RETRY

    name, keys = _user(srv, ALLOW_SSM)

    def client(service: str, region: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=srv.endpoint,
            region_name=region,
            aws_access_key_id=keys[0] if service == "ssm" else srv.admin[0],
            aws_secret_access_key=keys[1] if service == "ssm" else srv.admin[1],
            config=NO_RETRY,
        )

    for region in ("us-east-1", "eu-west-1", "eu-west-1"):
        with pytest.raises(ClientError):
            client("ssm", region).get_parameter(Name=f"/{name}/missing")
    q = [{"AttributeKey": "Username", "AttributeValue": name}]
    for region, count in (("us-east-1", 1), ("eu-west-1", 2), ("ap-south-1", 0)):
        events = client("cloudtrail", region).lookup_events(LookupAttributes=q)["Events"]
        assert [json.loads(e["CloudTrailEvent"])["awsRegion"] for e in events] == [region] * count
    # IAM is global: its events are recorded in us-east-1 whatever Region the caller used
    iam = boto3.client(
        "iam",
        endpoint_url=srv.endpoint,
        region_name="eu-west-1",
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
        config=NO_RETRY,
    )
    iam.get_user(UserName=name)
    q_iam = [{"AttributeKey": "AccessKeyId", "AttributeValue": keys[0]}]
    for region, names in (("us-east-1", ["GetUser", "GetParameter"]), ("eu-west-1", ["GetParameter"] * 2)):
        events = client("cloudtrail", region).lookup_events(LookupAttributes=q_iam)["Events"]
        assert [e["EventName"] for e in events] == names
        assert all(json.loads(e["CloudTrailEvent"])["awsRegion"] == region for e in events)
    p1 = client("cloudtrail", "eu-west-1").lookup_events(LookupAttributes=q, MaxResults=1)
    with pytest.raises(ClientError) as err:  # a token is bound to its Region too
        client("cloudtrail", "us-east-1").lookup_events(LookupAttributes=q, NextToken=p1["NextToken"])
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_failed_authentication_is_recorded(srv: Server) -> None:
    akid = f"AKIA{uuid.uuid4().hex[:16].upper()}"
    status, _, _ = signed_request(
        srv.endpoint,
        b"{}",
        {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"},
        service="kms",
        key=akid,
    )
    assert status in (400, 403)
    rows = srv.sql("SELECT event_name, error_code, record FROM audit_events WHERE access_key_id = ?", akid)
    assert len(rows) == 1 and rows[0][0] == "ListKeys" and rows[0][1]
    rec = json.loads(rows[0][2])
    assert rec["userIdentity"] == {"type": "Unknown", "accessKeyId": akid}
    assert rec["eventSource"] == "kms.amazonaws.com"


def test_trail_calls(srv: Server) -> None:
    ct = srv.client("cloudtrail")
    trails = ct.describe_trails()["trailList"]
    assert trails[0]["Name"] == "fleetward" and trails[0]["LogFileValidationEnabled"]
    assert ct.get_trail_status(Name="fleetward")["IsLogging"] is True
    with pytest.raises(ClientError) as e:
        ct.get_trail_status(Name="nope")
    assert e.value.response["Error"]["Code"] == "TrailNotFoundException"
    srv.admin_post("/_fleetward/audit/digest")
    keys = ct.list_public_keys()["PublicKeyList"]
    from fleetward.crypto.signing import fingerprint

    assert keys and fingerprint(keys[0]["Value"]) == keys[0]["Fingerprint"]


def test_audit_or_fail(srv: Server) -> None:
    name = f"f{uuid.uuid4().hex[:10]}"
    iam = srv.client("iam")
    srv.admin_post("/_fleetward/audit/fault", b'{"fail": true}')
    try:
        with pytest.raises(ClientError) as e:
            iam.create_user(UserName=name)
        assert e.value.response["Error"]["Code"] == "InternalFailure"
        with pytest.raises(ClientError) as e:
            srv.client("sts").get_caller_identity()
        assert e.value.response["Error"]["Code"] == "InternalFailure"
    finally:
        srv.admin_post("/_fleetward/audit/fault", b'{"fail": false}')
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"  # nothing changed
    import urllib.request

    with urllib.request.urlopen(f"{srv.endpoint}/_fleetward/metrics", timeout=5) as r:
        text = r.read().decode()
        assert r.headers["content-type"].startswith("text/plain")
    failures = [ln for ln in text.splitlines() if ln.startswith("fleetward_audit_write_failures_total ")]
    assert failures and int(failures[0].split()[1]) >= 2
    assert "audit trail" in Path(srv.log_path).read_text()


def test_validate_names_changed_and_removed_records(srv: Server, tmp_path: Path) -> None:
    name, keys = _user(srv, ALLOW_SSM)
    for _ in range(3):
        srv.client("iam", creds=keys).get_user(UserName=name)
    ok = srv.cli("trail", "validate", *srv.db_args(), "--close-open-hour", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "trail is VALID" in ok.stdout
    (a, ea), (b, eb) = srv.sql(
        "SELECT seq, event_id FROM audit_events WHERE access_key_id = ? ORDER BY seq LIMIT 2", keys[0]
    )
    cols = (
        "seq, account, region, event_id, event_time, event_name, event_source, username, access_key_id,"
        " principal_arn, read_only, error_code, record, digest_id"
    )
    [removed] = srv.sql(f"SELECT {cols} FROM audit_events WHERE seq = ?", b)
    srv.sql("UPDATE audit_events SET record = replace(record, '127.0.0.1', '10.9.9.9') WHERE seq = ?", a)
    srv.sql("DELETE FROM audit_events WHERE seq = ?", b)
    try:
        bad = srv.cli("trail", "validate", *srv.db_args(), check=False)
        assert bad.returncode != 0
        assert f"record seq {a} (eventID {ea}) changed" in bad.stdout
        assert f"record seq {b} (eventID {eb}) removed" in bad.stdout
        # and such a trail is not exported as valid-looking CloudTrail files
        export = srv.cli("trail", "export", *srv.db_args(), "--out", str(tmp_path / "x"), check=False)
        assert export.returncode != 0 and f"record seq {b} (eventID {eb}) removed" in export.stdout
        assert not (tmp_path / "x").exists()
    finally:  # restore for the other tests of the module
        srv.sql("UPDATE audit_events SET record = replace(record, '10.9.9.9', '127.0.0.1') WHERE seq = ?", a)
        srv.sql(f"INSERT INTO audit_events ({cols}) VALUES ({', '.join('?' * len(removed))})", *removed)
    ok = srv.cli("trail", "validate", *srv.db_args(), check=False)
    assert ok.returncode == 0 and "trail is VALID" in ok.stdout, ok.stdout


def test_export_and_suggest_policy(srv: Server, tmp_path: Path) -> None:
    name, keys = _user(srv, ALLOW_SSM)
    srv.client("iam", creds=keys).get_user(UserName=name)
    out = tmp_path / "export"
    r = srv.cli("trail", "export", *srv.db_args(), "--out", str(out), "--close-open-hour")
    assert "log files" in r.stdout
    import gzip

    logs = list(out.glob("AWSLogs/*/CloudTrail/us-east-1/*/*/*/*_CloudTrail_us-east-1_*.json.gz"))
    digests = list(out.glob("AWSLogs/*/CloudTrail-Digest/us-east-1/*/*/*/*.json.gz"))
    assert logs and digests
    recs = [rec for f in logs for rec in json.loads(gzip.decompress(f.read_bytes()))["Records"]]
    assert any(rec["eventName"] == "GetUser" and rec["userIdentity"].get("userName") == name for rec in recs)
    d = json.loads(gzip.decompress(digests[-1].read_bytes()))
    assert d["digestSignatureAlgorithm"] == "SHA256withRSA" and "logFiles" in d
    arn = f"arn:aws:iam::{srv.client('sts').get_caller_identity()['Account']}:user/{name}"
    r = srv.cli("iam", "suggest-policy", *srv.db_args(), "--principal", arn, "--since", "1d")
    policy = json.loads(r.stdout)
    assert policy["Version"] == "2012-10-17"
    assert policy["Statement"] == [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": arn}]


def test_kms_calls_made_by_ssm_are_recorded_with_invoked_by(srv: Server) -> None:
    alice, keys = _user(srv, ALLOW_SSM)
    ssm = srv.client("ssm", creds=keys)
    name = f"/{alice}/token"
    ssm.put_parameter(Name=name, Value="v", Type="SecureString")
    ssm.get_parameter(Name=name, WithDecryption=True)
    alice_events = _lookup(srv, "Username", alice)
    events = [e for e in alice_events if e["EventSource"] == "kms.amazonaws.com"]
    by_name = {e["EventName"]: json.loads(e["CloudTrailEvent"]) for e in events}
    assert {"Encrypt", "Decrypt"} <= set(by_name)
    # each record carries its own call's decision, not the one SSM made it
    for e in alice_events:
        rec = json.loads(e["CloudTrailEvent"])
        decided = [d["action"] for d in rec["additionalEventData"]["authorization"]]
        prefix = "kms" if e["EventSource"] == "kms.amazonaws.com" else "ssm"
        assert decided == [f"{prefix}:{e['EventName']}"], (e["EventName"], decided)
    for rec in by_name.values():
        assert rec["userIdentity"]["invokedBy"] == "ssm.amazonaws.com"
        assert rec["userIdentity"]["userName"] == alice
        assert rec["sourceIPAddress"] == "ssm.amazonaws.com"
        arn = f"arn:aws:ssm:us-east-1:{rec['recipientAccountId']}:parameter{name}"
        assert rec["requestParameters"]["encryptionContext"] == {"PARAMETER_ARN": arn}
        assert rec["resources"][0]["type"] == "AWS::KMS::Key"


def test_denied_kms_call_inside_a_failed_put_is_still_recorded(srv: Server) -> None:
    """The change rolls back, but the trail keeps both denied calls: PutParameter
    and the Encrypt it attempted on the caller's behalf. (A customer-managed
    key: the AWS-managed aws/ssm key's policy allows every caller of SSM.)"""
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ssm:PutParameter", "Resource": "*"}],
        }
    )
    bob, keys = _user(srv, policy)
    name = f"/{bob}/secret"
    key_id = srv.client("kms").create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        srv.client("ssm", creds=keys).put_parameter(Name=name, Value="v", Type="SecureString", KeyId=key_id)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert srv.sql("SELECT COUNT(*) FROM ssm_parameters WHERE name = ?", name) == [(0,)]
    events = {e["EventName"]: json.loads(e["CloudTrailEvent"]) for e in _lookup(srv, "Username", bob)}
    assert events["PutParameter"]["errorCode"] == "AccessDeniedException"
    assert events["Encrypt"]["errorCode"] == "AccessDeniedException"
    assert events["Encrypt"]["userIdentity"]["invokedBy"] == "ssm.amazonaws.com"
    # the reason for the denial is in the denied call's own record
    [reason] = events["Encrypt"]["additionalEventData"]["authorization"]
    assert (reason["action"], reason["decision"]) == ("kms:Encrypt", "ImplicitDeny")
    assert reason["resource"].endswith(key_id)
    assert [d["action"] for d in events["PutParameter"]["additionalEventData"]["authorization"]] == [
        "ssm:PutParameter"
    ]
    assert events["Encrypt"]["requestID"] == events["PutParameter"]["requestID"]
