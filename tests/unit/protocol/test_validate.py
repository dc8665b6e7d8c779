"""Validation messages in AWS's exact wording, from botocore's models."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from fleetward.protocol import jsonproto, query
from fleetward.protocol.errors import SerializationException, ValidationException
from fleetward.protocol.validate import _compile_pattern, render_value
from tests.unit.protocol.strategies import operation_model


def ssm(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return jsonproto.parse_request(operation_model("ssm", name), json.dumps(body).encode())


def kms(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return jsonproto.parse_request(operation_model("kms", name), json.dumps(body).encode())


def iam(name: str, params: dict[str, str]) -> dict[str, Any]:
    form = query.parse_form(urlencode({"Action": name, "Version": "2010-05-08", **params}).encode(), "")
    return query.parse_request(operation_model("iam", name), form)


def message(fn: Any, *args: Any) -> str:
    with pytest.raises(ValidationException) as ei:
        fn(*args)
    assert ei.value.code == "ValidationException"
    assert ei.value.code_for("query") == "ValidationError"
    return ei.value.message


def test_required_member_missing() -> None:
    assert message(ssm, "GetParameter", {}) == (
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_required_member_explicit_null() -> None:
    assert message(ssm, "GetParameter", {"Name": None}) == (
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_enum_single_error() -> None:
    assert message(ssm, "PutParameter", {"Name": "x", "Value": "y", "Type": "Bogus"}) == (
        "1 validation error detected: Value 'Bogus' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [String, StringList, SecureString]"
    )


def test_two_errors_counted_and_joined() -> None:
    long_name = "a" * 2049
    assert message(ssm, "PutParameter", {"Name": long_name, "Value": "y", "Type": "Bogus"}) == (
        "2 validation errors detected: "
        f"Value '{long_name}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 2048; "
        "Value 'Bogus' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [String, StringList, SecureString]"
    )


def test_length_min() -> None:
    assert message(ssm, "GetParameter", {"Name": ""}) == (
        "1 validation error detected: Value '' at 'name' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_range_min_and_max() -> None:
    assert message(ssm, "DescribeParameters", {"MaxResults": 0}) == (
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
    assert message(ssm, "DescribeParameters", {"MaxResults": 51}) == (
        "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 50"
    )


def test_pattern() -> None:
    assert message(ssm, "PutParameter", {"Name": "x", "Value": "y", "KeyId": "a b"}) == (
        "1 validation error detected: Value 'a b' at 'keyId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^([a-zA-Z0-9:/_-]+)$"
    )


def test_list_size() -> None:
    names = [f"n{i}" for i in range(11)]
    assert message(ssm, "GetParameters", {"Names": names}) == (
        f"1 validation error detected: Value '[{', '.join(names)}]' at 'names' "
        "failed to satisfy constraint: Member must have length less than or equal to 10"
    )
    assert message(ssm, "GetParameters", {"Names": []}) == (
        "1 validation error detected: Value '[]' at 'names' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1"
    )


def test_nested_path_in_list_of_structures() -> None:
    body = {"ParameterFilters": [{"Key": "Name"}, {"Key": "Bogus"}, {}]}
    assert message(ssm, "DescribeParameters", body) == (
        "2 validation errors detected: "
        "Value 'Bogus' at 'parameterFilters.2.member.key' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType; "
        "Value null at 'parameterFilters.3.member.key' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_nested_path_first_item() -> None:
    body = {"ParameterFilters": [{"Key": ""}]}
    msg = message(ssm, "DescribeParameters", body)
    assert msg.startswith("2 validation errors detected: Value '' at 'parameterFilters.1.member.key' ")
    assert "Member must have length greater than or equal to 1" in msg


def test_sensitive_value_not_echoed() -> None:
    secret = "s3cr3t-" * 700  # 4900 bytes > 4096
    body = {"KeyId": "alias/x", "Plaintext": base64.b64encode(secret.encode()).decode()}
    msg = message(kms, "Encrypt", body)
    assert msg == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096"
    )
    assert "s3cr3t" not in msg


def test_sensitive_string_not_echoed_in_nested_error() -> None:
    # PutParameter's Value is sensitive; the other member's value is echoed.
    msg = message(ssm, "PutParameter", {"Name": "", "Value": "hunter2", "Type": "Bogus"})
    assert "hunter2" not in msg
    assert msg.startswith("2 validation errors detected: ")


def test_query_protocol_messages() -> None:
    assert message(iam, "CreateUser", {"UserName": "a" * 65}) == (
        f"1 validation error detected: Value '{'a' * 65}' at 'userName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64"
    )
    assert message(iam, "CreateUser", {}) == (
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_valid_input_passes() -> None:
    out = ssm("PutParameter", {"Name": "x", "Value": "y", "Type": "String", "Overwrite": True})
    assert out == {"Name": "x", "Value": "y", "Type": "String", "Overwrite": True}


def test_unknown_members_ignored() -> None:
    assert ssm("GetParameter", {"Name": "x", "Bogus": 1}) == {"Name": "x"}


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("GetParameter", {"Name": 123}),
        ("GetParameter", {"Name": "x", "WithDecryption": "yes"}),
        ("GetParameter", {"Name": ["x"]}),
        ("GetParameters", {"Names": "x"}),
        ("DescribeParameters", {"MaxResults": 1.5}),
        ("DescribeParameters", {"MaxResults": True}),
        ("DescribeParameters", {"ParameterFilters": {"Key": "Name"}}),
        ("DescribeParameters", {"ParameterFilters": ["Name"]}),
        # Java's long and int, as AWS reads them: a number that does not fit is not one.
        ("LabelParameterVersion", {"Name": "p", "Labels": ["l"], "ParameterVersion": 2**63}),
        ("LabelParameterVersion", {"Name": "p", "Labels": ["l"], "ParameterVersion": -(2**64)}),
        ("DescribeParameters", {"MaxResults": 2**31}),
    ],
)
def test_type_mismatch_is_serialization_exception(name: str, body: dict[str, Any]) -> None:
    with pytest.raises(SerializationException) as ei:
        ssm(name, body)
    assert ei.value.code == "SerializationException"


def test_numbers_at_the_java_bounds_are_read() -> None:
    body = {"Name": "p", "Labels": ["l"], "ParameterVersion": 2**63 - 1}
    assert ssm("LabelParameterVersion", body)["ParameterVersion"] == 2**63 - 1


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'"x"', b"{"])
def test_body_not_an_object_is_serialization_exception(body: bytes) -> None:
    with pytest.raises(SerializationException):
        jsonproto.parse_request(operation_model("ssm", "GetParameter"), body)


def test_empty_body_is_empty_input() -> None:
    assert jsonproto.parse_request(operation_model("ssm", "DescribeParameters"), b"") == {}


def test_bad_base64_blob_is_serialization_exception() -> None:
    with pytest.raises(SerializationException):
        kms("Encrypt", {"KeyId": "k", "Plaintext": "***"})


def test_timestamp_and_blob_conversion() -> None:
    out = jsonproto.parse_request(
        operation_model("kms", "Encrypt"),
        json.dumps({"KeyId": "k", "Plaintext": base64.b64encode(b"\x00\x01").decode()}).encode(),
    )
    assert out["Plaintext"] == b"\x00\x01"


def test_render_value() -> None:
    assert render_value(None) == "null"
    assert render_value(True) == "true"
    assert render_value(["a", 1]) == "[a, 1]"
    assert render_value({"k": "v"}) == "{k=v}"


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (r"^[\w-_]+$", "a-_b", "a b"),  # Java's literal '-' after a class escape
        (r"[\u0020-\u00FF]+", "abc", "\u0100"),  # Java \u escapes
        (r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)", "/a/", "a"),
        (r"^\p{L}+$", "é", "1"),  # Unicode classes
    ],
)
def test_java_patterns(pattern: str, good: str, bad: str) -> None:
    rx = _compile_pattern(pattern)
    assert rx is not None
    assert rx.fullmatch(good)
    assert rx.fullmatch(bad) is None


def test_bad_scalar_list_element_is_reported_once_on_the_list() -> None:
    long = "a" * 101
    assert message(ssm, "LabelParameterVersion", {"Name": "p", "Labels": [long, "ok", long]}) == (
        f"1 validation error detected: Value '[{long}, ok, {long}]' at 'labels' failed to satisfy "
        "constraint: Member must satisfy constraint: [Member must have length less than or equal to 100, "
        "Member must have length greater than or equal to 1]"
    )


def test_bad_element_inside_a_structure_list_keeps_its_paths() -> None:
    got = message(
        ssm,
        "DescribeParameters",
        {"ParameterFilters": [{"Key": "Name", "Values": ["t" * 1025]}, {"Key": "Name", "Option": "o" * 11}]},
    )
    assert got == (
        "2 validation errors detected: "
        f"Value '[{'t' * 1025}]' at 'parameterFilters.1.member.values' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 1024, "
        "Member must have length greater than or equal to 1]; "
        f"Value '{'o' * 11}' at 'parameterFilters.2.member.option' failed to satisfy constraint: "
        "Member must have length less than or equal to 10"
    )


def test_bad_map_key_and_value_are_reported_on_the_map() -> None:
    op = operation_model("logs", "CreateLogGroup")
    body = {"logGroupName": "g", "tags": {"": "v", "k": "x" * 257}}
    got = message(jsonproto.parse_request, op, json.dumps(body).encode())
    assert got.startswith("2 validation errors detected: ")
    assert "Value '{=v, k=" in got
    assert (
        "at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: "
        in got
    )
    assert (
        "at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256"
        in got
    )


def test_blob_values_are_not_echoed() -> None:
    got = message(
        kms,
        "Verify",
        {"KeyId": "k", "Message": "eA==", "Signature": "", "SigningAlgorithm": "RSASSA_PSS_SHA_256"},
    )
    assert got == (
        "1 validation error detected: Value at 'signature' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_map_size() -> None:
    op = operation_model("logs", "CreateLogGroup")
    tags = {f"k{i}": "v" for i in range(51)}
    with pytest.raises(ValidationException) as ei:
        jsonproto.parse_request(op, json.dumps({"logGroupName": "g", "tags": tags}).encode())
    assert ei.value.message == (
        f"1 validation error detected: Value '{{{', '.join(f'k{i}=v' for i in range(51))}}}' at 'tags' "
        "failed to satisfy constraint: Member must have length less than or equal to 50"
    )
    with pytest.raises(ValidationException) as ei:
        jsonproto.parse_request(op, b'{"logGroupName": "g", "tags": {}}')
    assert ei.value.message == (
        "1 validation error detected: Value '{}' at 'tags' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1"
    )
