"""Our error documents, read back by botocore's parsers (status 400/403/500).

botocore reads an error in two steps (``botocore.endpoint``): the generic
Code/Message, then, when the code names an error shape of the model, that
shape's members from the same document; boto3's modeled exception classes
(``client.exceptions.ParameterNotFound``) are chosen by that code.
"""

from __future__ import annotations

from typing import Any

import botocore.parsers
import pytest
from hypothesis import given

from fleetward.protocol import jsonproto, query, restjson
from fleetward.protocol.errors import (
    AccessDeniedException,
    AWSError,
    InternalFailure,
    InvalidSignatureException,
    ThrottlingException,
    UnrecognizedClientException,
    ValidationException,
)
from tests.unit.protocol.strategies import SERVICES, full_value_for, member_slots, service_model, slots_in
from tests.unit.protocol.test_roundtrip import FULL_SETTINGS

GENERIC: tuple[type[AWSError], ...] = (
    ValidationException,
    AccessDeniedException,
    ThrottlingException,
    InternalFailure,
    UnrecognizedClientException,
    InvalidSignatureException,
)

MESSAGE = "Parameter <x> & \"y\" 'z'\r\nnot found: é ✓"


def modeled_code(shape: Any) -> str:
    """The wire code of an error shape (``NoSuchEntityException`` is ``NoSuchEntity``)."""
    return str(shape.metadata.get("error", {}).get("code", shape.name))


def _error_classes(service: str) -> list[type[AWSError]]:
    """One AWSError subclass per error shape of the model, plus the generic ones."""
    model = service_model(service)
    modeled = [type(shape.name, (AWSError,), {"code": modeled_code(shape)}) for shape in model.error_shapes]
    return [*modeled, *GENERIC]


def _response(service: str, err: AWSError) -> dict[str, Any]:
    model = service_model(service)
    protocol = model.protocol
    rid = "0f0e0d0c-0000-4000-8000-000000000001"
    if protocol == "query":
        status = err.status_for("query")
        response = {
            "body": query.dump_error(err, model.metadata.get("xmlNamespace", ""), rid),
            "headers": {"content-type": "text/xml", "x-amzn-requestid": rid},
            "status_code": status,
        }
    else:
        status = err.status
        body = jsonproto.dump_error(err) if protocol == "json" else restjson.dump_error(err)
        ctype = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        response = {
            "body": body,
            "headers": {"content-type": ctype, "x-amzn-requestid": rid, "x-amzn-errortype": err.code},
            "status_code": status,
        }
    return response


def _roundtrip(service: str, err: AWSError) -> tuple[dict[str, Any], int]:
    model = service_model(service)
    op = model.operation_model(model.operation_names[0])
    response = _response(service, err)
    parsed = botocore.parsers.create_parser(model.protocol).parse(response, op.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "0f0e0d0c-0000-4000-8000-000000000001"
    return parsed, response["status_code"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_modeled_error_parses(service: str) -> None:
    protocol = service_model(service).protocol
    for cls in _error_classes(service):
        err = cls(MESSAGE)
        parsed, status = _roundtrip(service, err)
        assert status >= 400
        assert parsed["Error"]["Code"] == err.code_for(protocol), cls
        assert parsed["Error"]["Message"] == MESSAGE, cls
        if cls not in GENERIC:
            # boto3 picks the modeled exception class by this code
            assert service_model(service).shape_for_error_code(parsed["Error"]["Code"]).name == cls.__name__


def _error_shapes_with_members() -> list[tuple[str, str]]:
    return [
        (service, shape.name)
        for service in SERVICES
        for shape in service_model(service).error_shapes
        if member_slots(shape) - {(shape.name, "message"), (shape.name, "Message")}
    ]


@pytest.mark.parametrize(("service", "shape_name"), _error_shapes_with_members())
def test_modeled_error_members_roundtrip(service: str, shape_name: str) -> None:
    """Members an error shape declares beside its message (logs'
    expectedSequenceToken, ssm's ReasonCode) reach botocore's modeled parse."""
    model = service_model(service)
    shape = model.shape_for(shape_name)
    cls = type(shape_name, (AWSError,), {"code": modeled_code(shape)})
    seen: set[tuple[str, str]] = set()

    @FULL_SETTINGS
    @given(full_value_for(shape, body_only=True))
    def check(fields: dict[str, Any]) -> None:
        fields = {k: v for k, v in fields.items() if k.lower() != "message"}
        slots_in(shape, fields, seen)
        response = _response(service, cls(MESSAGE, **fields))
        parser = botocore.parsers.create_parser(model.protocol)
        op = model.operation_model(model.operation_names[0])
        code = parser.parse(response, op.output_shape)["Error"]["Code"]
        # as botocore.endpoint._add_modeled_error_fields does
        error_shape = model.shape_for_error_code(code)
        assert error_shape is not None and error_shape.name == shape_name
        parsed = parser.parse(response, error_shape)
        assert {k: v for k, v in parsed.items() if k in fields} == fields

    check()
    assert seen == member_slots(shape) - {(shape_name, "message"), (shape_name, "Message")}


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_query_error_codes_differ_where_aws_differs(service: str) -> None:
    parsed, status = _roundtrip(service, ValidationException("bad"))
    assert parsed["Error"]["Code"] == "ValidationError"
    assert parsed["Error"]["Type"] == "Sender"
    parsed, status = _roundtrip(service, AccessDeniedException("no"))
    assert (parsed["Error"]["Code"], status) == ("AccessDenied", 403)
    parsed, status = _roundtrip(service, InternalFailure())
    assert parsed["Error"]["Type"] == "Receiver"
    assert status == 500


def test_json_error_type_from_body_alone() -> None:
    """botocore reads __type even without the X-Amzn-ErrorType header."""
    op = service_model("ssm").operation_model("GetParameter")
    cls = type("ParameterNotFound", (AWSError,), {})
    response = {
        "body": jsonproto.dump_error(cls("nope")),
        "headers": {"content-type": "application/x-amz-json-1.1"},
        "status_code": 400,
    }
    parsed = botocore.parsers.create_parser("json").parse(response, op.output_shape)
    assert parsed["Error"] == {"Code": "ParameterNotFound", "Message": "nope"}


def test_json_error_extra_fields() -> None:
    cls = type("InvalidKeyId", (AWSError,), {})
    body = jsonproto.dump_error(cls("bad key", Reason="x"))
    assert b'"Reason":"x"' in body
    assert b'"__type":"InvalidKeyId"' in body


def test_internal_failure_has_no_traceback() -> None:
    err = InternalFailure()
    assert err.message == "An internal error occurred. Try again later."
    parsed, status = _roundtrip("ssm", err)
    assert status == 500
    assert parsed["Error"]["Code"] == "InternalFailure"


def test_error_code_is_class_name_unless_set() -> None:
    class ParameterNotFound(AWSError):
        pass

    class Odd(AWSError):
        code = "Some.Code"

    assert ParameterNotFound.code == "ParameterNotFound"
    assert Odd.code == "Some.Code"
    assert ParameterNotFound("m").code_for("query") == "ParameterNotFound"
