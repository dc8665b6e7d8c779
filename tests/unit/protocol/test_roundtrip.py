"""botocore as the oracle: our parsers read what botocore writes, botocore reads what we write.

Input side: for every operation, hypothesis generates valid inputs from the
input shape; botocore's serializer writes the request; our parser must give
back exactly the generated params. Output side: valid outputs from the output
shape go through our serializer and botocore's parser must give them back.

Random examples leave optional members out at random, so the ``*_every_member``
tests add values that hold every member at every depth (one per union
variant) and check that they reach every shape of the operation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import botocore.parsers
import botocore.serialize
import pytest
from botocore.model import OperationModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetward.protocol import jsonproto, query, restjson
from tests.unit.protocol.strategies import (
    Unsatisfiable,
    full_value_for,
    member_slots,
    operation_model,
    operations,
    service_model,
    slots_in,
    union_width,
    value_for,
)

SETTINGS = settings(
    max_examples=4,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: CI results are reproducible
    suppress_health_check=list(HealthCheck),
)
FULL_SETTINGS = settings(SETTINGS, max_examples=1)

OPS = operations()
IDS = [f"{s}:{o}" for s, o in OPS]

_routers: dict[str, restjson.RestRouter] = {}


def _router(service: str) -> restjson.RestRouter:
    r = _routers.get(service)
    if r is None:
        r = _routers[service] = restjson.RestRouter(service_model(service))
    return r


def _strategy(op: OperationModel, shape: Any, *, body_only: bool = False) -> st.SearchStrategy[Any]:
    if shape is None:
        return st.just({})
    try:
        return value_for(shape, nonempty=op.metadata["protocol"] == "query", body_only=body_only)
    except Unsatisfiable as e:
        pytest.skip(f"no valid value known for {e}")


def parse_with_ours(service: str, op: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    protocol = op.metadata["protocol"]
    req = botocore.serialize.create_serializer(protocol).serialize_to_request(params, op)
    if protocol == "json":
        return jsonproto.parse_request(op, req["body"])
    if protocol == "query":
        form = query.parse_form(urlencode(req["body"]).encode(), "")
        return query.parse_request(op, form)
    assert protocol == "rest-json"
    path, _, qs_in_path = req["url_path"].partition("?")
    hit = _router(service).match(req["method"], path)
    assert hit is not None, f"no route for {req['method']} {path}"
    routed, path_params = hit
    assert routed.name == op.name
    qs = (
        urlencode(req["query_string"], doseq=True)
        if isinstance(req["query_string"], dict)
        else req["query_string"]
    )
    qs = "&".join(p for p in (qs_in_path, qs) if p)
    headers = {k.lower(): v for k, v in req["headers"].items()}
    body = req["body"] if isinstance(req["body"], bytes) else str(req["body"]).encode()
    return restjson.parse_request(op, path_params, qs, headers, body)


@pytest.mark.parametrize(("service", "name"), OPS, ids=IDS)
def test_input_roundtrip(service: str, name: str) -> None:
    op = operation_model(service, name)
    strategy = _strategy(op, op.input_shape)

    @SETTINGS
    @given(strategy)
    def check(params: dict[str, Any]) -> None:
        assert parse_with_ours(service, op, params) == params

    check()


def test_query_text_keeps_carriage_returns() -> None:
    """XML parsers read a raw CR (and CRLF) as LF: a value must carry it escaped."""
    op = operation_model("iam", "GetUser")
    user = {
        "Path": "/",
        "UserName": "a\r\nb\rc",
        "UserId": "AIDA\t\n",
        "Arn": "arn:aws:iam::123456789012:user/a",
        "CreateDate": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    parsed = botocore.parsers.create_parser("query").parse(
        serialize_with_ours(op, {"User": user}), op.output_shape
    )
    assert parsed["User"] == user


def serialize_with_ours(op: OperationModel, result: dict[str, Any]) -> dict[str, Any]:
    protocol = op.metadata["protocol"]
    if protocol == "query":
        ns = op.metadata.get("xmlNamespace") or ""
        body = query.dump_result(op, ns, result, "rid-1")
        return {"body": body, "headers": {"content-type": "text/xml"}, "status_code": 200}
    body = jsonproto.dump_result(result)
    ctype = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
    return {"body": body, "headers": {"content-type": ctype}, "status_code": 200}


@pytest.mark.parametrize(("service", "name"), OPS, ids=IDS)
def test_output_roundtrip(service: str, name: str) -> None:
    op = operation_model(service, name)
    protocol = op.metadata["protocol"]
    parser = botocore.parsers.create_parser(protocol)
    if op.output_shape is None:
        # Our empty result must still be a document botocore reads as empty.
        parsed = parser.parse(serialize_with_ours(op, {}), None)
        parsed.pop("ResponseMetadata", None)
        assert parsed == {}
        return
    if op.has_event_stream_output:
        pytest.skip("event-stream output is not a JSON document")
    strategy = _strategy(op, op.output_shape, body_only=True)

    @SETTINGS
    @given(strategy)
    def check(result: dict[str, Any]) -> None:
        parsed = parser.parse(serialize_with_ours(op, result), op.output_shape)
        parsed.pop("ResponseMetadata", None)
        assert parsed == result

    check()


def _every_member(op: OperationModel, shape: Any, check: Any, *, body_only: bool = False) -> None:
    """Run ``check`` on values holding every member of ``shape``; they must reach every member."""
    seen: set[tuple[str, str]] = set()
    nonempty = op.metadata["protocol"] == "query"
    for variant in range(union_width(shape)):
        try:
            strategy = full_value_for(shape, variant, nonempty=nonempty, body_only=body_only)
        except Unsatisfiable as e:
            pytest.fail(f"no valid value known for {e}")

        @FULL_SETTINGS
        @given(strategy)
        def run(value: dict[str, Any]) -> None:
            slots_in(shape, value, seen)
            check(value)

        run()
    missing = member_slots(shape, body_only=body_only) - seen
    assert not missing, f"members never exercised: {sorted(missing)}"


@pytest.mark.parametrize(("service", "name"), OPS, ids=IDS)
def test_input_roundtrip_every_member(service: str, name: str) -> None:
    op = operation_model(service, name)
    if op.input_shape is None:
        pytest.skip("no input")

    def check(params: dict[str, Any]) -> None:
        assert parse_with_ours(service, op, params) == params

    _every_member(op, op.input_shape, check)


@pytest.mark.parametrize(("service", "name"), OPS, ids=IDS)
def test_output_roundtrip_every_member(service: str, name: str) -> None:
    op = operation_model(service, name)
    if op.output_shape is None:
        pytest.skip("no output (test_output_roundtrip checks the empty document)")
    if op.has_event_stream_output:
        pytest.skip("event-stream output is not a JSON document")
    parser = botocore.parsers.create_parser(op.metadata["protocol"])

    def check(result: dict[str, Any]) -> None:
        parsed = parser.parse(serialize_with_ours(op, result), op.output_shape)
        parsed.pop("ResponseMetadata", None)
        assert parsed == result

    _every_member(op, op.output_shape, check, body_only=True)
