"""The spine end to end: routing, validation, errors, serialization, on a dev server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import botocore.exceptions
import pytest
from botocore import xform_name

from fleetward.server.app import build_registry
from tests.support.server import Server, raw_request, signed_request
from tests.unit.protocol.strategies import service_model


def test_get_caller_identity_boto3(dev_server: Server) -> None:
    ident = dev_server.client("sts").get_caller_identity()
    assert ident["Account"] == "123456789012"
    assert ident["Arn"].startswith("arn:aws:iam::123456789012:")
    assert ident["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_aws_cli(dev_server: Server) -> None:
    out = dev_server.aws("sts", "get-caller-identity", check=True)
    assert json.loads(out.stdout)["Account"] == "123456789012"


def test_enum_validation_message(dev_server: Server) -> None:
    out = dev_server.aws("ssm", "put-parameter", "--name", "x", "--value", "y", "--type", "Bogus")
    assert out.returncode != 0
    assert (
        "(ValidationException) when calling the PutParameter operation: 1 validation error detected: "
        "Value 'Bogus' at 'type' failed to satisfy constraint: Member must satisfy enum value set: "
        "[String, StringList, SecureString]"
    ) in out.stderr


def test_several_validation_errors_are_counted(dev_server: Server) -> None:
    ssm = dev_server.client("ssm")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.get_parameters_by_path(Path="/a", MaxResults=11, ParameterFilters=[{"Key": "tag:" + "x" * 200}])
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith("2 validation errors detected: ")
    assert (
        "Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10"
        in err["Message"]
    )
    assert (
        "at 'parameterFilters.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 132"
        in err["Message"]
    )


def test_required_member_missing(dev_server: Server) -> None:
    status, headers, body = signed_request(
        dev_server.endpoint,
        b"{}",
        {"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"},
        service="ssm",
    )
    payload = json.loads(body)
    assert status == 400
    assert payload["__type"] == "ValidationException"
    assert (
        payload["message"]
        == "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    )
    assert headers["x-amzn-RequestId"]


def test_unknown_target(dev_server: Server) -> None:
    req = urllib.request.Request(
        dev_server.endpoint,
        data=b"{}",
        method="POST",
        headers={"X-Amz-Target": "AmazonSSM.NoSuchThing", "Content-Type": "application/x-amz-json-1.1"},
    )
    status, headers, body = raw_request(req)
    assert status == 400
    assert json.loads(body)["__type"] == "UnknownOperationException"
    assert headers["X-Amzn-ErrorType"] == "UnknownOperationException"


def test_missing_authentication_json(dev_server: Server) -> None:
    req = urllib.request.Request(
        dev_server.endpoint,
        data=b"{}",
        method="POST",
        headers={
            "X-Amz-Target": "AmazonSSM.DescribeParameters",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    status, _, body = raw_request(req)
    assert status == 403
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"


def test_missing_authentication_query(dev_server: Server) -> None:
    req = urllib.request.Request(
        dev_server.endpoint,
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    status, _, raw = raw_request(req)
    assert "<Code>MissingAuthenticationToken</Code>" in raw.decode()
    assert status == 403


def _unimplemented(service: str) -> str:
    """An operation of the model fleetward does not provide, callable without input."""
    registry = build_registry()
    model = service_model(service)
    for name in model.operation_names:
        op = model.operation_model(name)
        if registry.get(service, name) is None and op.auth_type != "none":
            if op.input_shape is None or not op.input_shape.required_members:
                return name
    pytest.skip(f"every {service} operation callable without input is implemented")


@pytest.mark.parametrize("service", ["ssm", "iam", "resource-groups"])  # JSON 1.1, Query, rest-json
def test_unimplemented_operation_is_a_parseable_error(dev_server: Server, service: str) -> None:
    name = _unimplemented(service)
    client = dev_server.client(service)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        getattr(client, xform_name(name))()
    assert e.value.response["Error"]["Code"] == "InvalidAction"
    assert e.value.response["Error"]["Message"] == f"{service}:{name} is not implemented by fleetward"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["ResponseMetadata"]["RequestId"]


def test_rest_json_routing_and_validation(dev_server: Server) -> None:
    """resource-groups (rest-json) is routed by method and path, its input read
    from the URI and body and checked against the model."""
    rg = dev_server.client("resource-groups")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        rg.get_group(Group="no spaces allowed")
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith(
        "1 validation error detected: Value 'no spaces allowed' at 'group' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
    )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if build_registry().get("resource-groups", "GetTags") is None:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            rg.get_tags(Arn="arn:aws:resource-groups:us-east-1:123456789012:group/g")  # ARN in the URI
        assert (
            e.value.response["Error"]["Message"] == "resource-groups:GetTags is not implemented by fleetward"
        )


def test_healthz(dev_server: Server) -> None:
    with urllib.request.urlopen(f"{dev_server.endpoint}/healthz", timeout=5) as r:
        assert json.loads(r.read()) == {"status": "ok"}


def test_dev_reset_wipes_state(tmp_path: Path) -> None:
    srv = Server(tmp_path / "dev", dev=True)
    srv.env.pop("PYTHONUNBUFFERED", None)  # stdout to a file, as under systemd
    srv.start()
    try:
        # the loud banner is out while the server runs, not only once it exits
        assert "!! DEV MODE: any access key is the administrator of 123456789012." in srv.log_path.read_text()
        ssm = srv.client("ssm")
        ssm.put_parameter(Name="/reset/me", Value="v", Type="String")
        assert json.loads(srv.admin_post("/_fleetward/reset")) == {"reset": True}
        assert ssm.describe_parameters()["Parameters"] == []
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ssm.get_parameter(Name="/reset/me")
        assert e.value.response["Error"]["Code"] == "ParameterNotFound"
    finally:
        srv.stop()


def test_reset_is_not_served_outside_dev_mode(server: Server) -> None:
    req = urllib.request.Request(f"{server.endpoint}/_fleetward/reset", data=b"{}", method="POST")
    status, _, _ = raw_request(req)
    assert status != 200
    assert server.client("sts").get_caller_identity()["Account"]  # still serving, nothing wiped


def test_describe_parameters_on_a_fresh_account(server: Server) -> None:
    out = server.aws("ssm", "describe-parameters", check=True)
    assert json.loads(out.stdout)["Parameters"] == []
