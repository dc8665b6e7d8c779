"""Our error documents, read back by botocore's parsers (status 400/403/500)."""

from __future__ import annotations

from typing import Any

import botocore.parsers
import pytest

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
from tests.unit.protocol.strategies import SERVICES, service_model

GENERIC: tuple[type[AWSError], ...] = (
    ValidationException,
    AccessDeniedException,
    ThrottlingException,
    InternalFailure,
    UnrecognizedClientException,
    InvalidSignatureException,
)

MESSAGE = "Parameter <x> & \"y\" 'z' not found: é ✓"


def _error_classes(service: str) -> list[type[AWSError]]:
    """One AWSError subclass per error shape of the model, plus the generic ones."""
    model = service_model(service)
    modeled = [type(shape.name, (AWSError,), {}) for shape in model.error_shapes]
    return [*modeled, *GENERIC]


def _roundtrip(service: str, err: AWSError) -> tuple[dict[str, Any], int]:
    model = service_model(service)
    protocol = model.protocol
    op = model.operation_model(model.operation_names[0])
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
    parsed = botocore.parsers.create_parser(protocol).parse(response, op.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == rid
    return parsed, status


@pytest.mark.parametrize("service", SERVICES)
def test_every_modeled_error_parses(service: str) -> None:
    protocol = service_model(service).protocol
    for cls in _error_classes(service):
        err = cls(MESSAGE)
        parsed, status = _roundtrip(service, err)
        assert status >= 400
        assert parsed["Error"]["Code"] == err.code_for(protocol), cls
        assert parsed["Error"]["Message"] == MESSAGE, cls


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
