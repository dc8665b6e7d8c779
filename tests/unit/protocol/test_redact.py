"""Every sensitive member is hidden, however deep it sits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import ServiceModel, Shape

from fleetward.protocol.redact import HIDDEN, has_sensitive, redact
from tests.unit.protocol.strategies import operation_model, service_model

MARK = "SECRET-"
_n = itertools.count()


def _sensitive(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive") or shape.serialization.get("sensitive"))


def full_value(shape: Shape, depth: int = 0, secret: bool = False) -> Any:
    """A value with every member present (lists and maps of two), secrets marked."""
    t = shape.type_name
    secret = secret or _sensitive(shape)
    if t == "structure":
        if depth > 6:
            return {}
        members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
        return {k: full_value(ms, depth + 1, secret) for k, ms in members.items()}
    if t == "list":
        return [full_value(shape.member, depth + 1, secret) for _ in range(2)]  # type: ignore[attr-defined]
    if t == "map":
        return {
            full_value(shape.key, depth + 1, secret) + str(i): full_value(shape.value, depth + 1, secret)  # type: ignore[attr-defined]
            for i in range(2)
        }
    if t == "string":
        if secret:
            return f"{MARK}{next(_n)}"
        return shape.enum[0] if shape.enum else f"v{next(_n)}"
    if t == "blob":
        return MARK.encode() if secret else b"x"
    if t in ("integer", "long"):
        return 7
    if t in ("float", "double"):
        return 1.5
    if t == "boolean":
        return True
    if t == "timestamp":
        return datetime(2024, 1, 1, tzinfo=UTC)
    return None


def check_redacted(shape: Shape, original: Any, redacted: Any, path: str = "") -> int:
    """Assert sensitive positions are HIDDEN and the rest unchanged; count hidden ones."""
    if _sensitive(shape):
        assert redacted == HIDDEN, path
        return 1
    t = shape.type_name
    if t == "structure":
        assert set(redacted) == set(original), path
        members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
        return sum(check_redacted(members[k], original[k], redacted[k], f"{path}.{k}") for k in original)
    if t == "list":
        assert len(redacted) == len(original), path
        return sum(
            check_redacted(shape.member, o, r, f"{path}[]")  # type: ignore[attr-defined]
            for o, r in zip(original, redacted, strict=True)
        )
    if t == "map":
        if _sensitive(shape.key):  # type: ignore[attr-defined]
            assert all(k == HIDDEN for k in redacted), path
        else:
            assert set(redacted) == set(original), path
        return sum(
            check_redacted(shape.value, original[k], redacted[k], f"{path}{{}}")  # type: ignore[attr-defined]
            for k in original
            if k in redacted
        )
    assert redacted == original, path
    return 0


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for service in ("ssm", "kms", "iam", "sts"):
        model = service_model(service)
        for name in model.operation_names:
            op = model.operation_model(name)
            for side in ("input", "output"):
                shape = op.input_shape if side == "input" else op.output_shape
                if shape is not None and has_sensitive(shape):
                    out.append((service, name, side))
    return out


CASES = _cases()


def test_cases_found() -> None:
    ops = {(s, n) for s, n, _ in CASES}
    for expected in [
        ("ssm", "PutParameter"),
        ("ssm", "GetParameters"),
        ("ssm", "GetParametersByPath"),
        ("kms", "Decrypt"),
        ("kms", "GenerateDataKey"),
        ("iam", "CreateAccessKey"),
        ("sts", "AssumeRole"),
        ("sts", "GetSessionToken"),
    ]:
        assert expected in ops, expected


@pytest.mark.parametrize(("service", "name", "side"), CASES, ids=[":".join(c) for c in CASES])
def test_every_sensitive_member_hidden(service: str, name: str, side: str) -> None:
    op = operation_model(service, name)
    shape = op.input_shape if side == "input" else op.output_shape
    assert shape is not None
    value = full_value(shape)
    red = redact(shape, value)
    hidden = check_redacted(shape, value, red)
    assert hidden > 0
    assert MARK not in repr(red)
    assert MARK in repr(value)  # redact made a copy, the input is untouched


def test_no_sensitive_member_returns_value_itself() -> None:
    shape = operation_model("ssm", "DescribeParameters").input_shape
    assert not has_sensitive(shape)
    value = {"MaxResults": 5}
    assert redact(shape, value) is value


def test_extra_names_hidden_anywhere() -> None:
    shape = operation_model("ssm", "DescribeParameters").input_shape
    value = {"MaxResults": 5, "NextToken": "tok"}
    assert redact(shape, value, frozenset({"NextToken"})) == {"MaxResults": 5, "NextToken": HIDDEN}


def test_get_parameters_values_hidden_in_list() -> None:
    shape = operation_model("ssm", "GetParameters").output_shape
    value = {
        "Parameters": [{"Name": "a", "Value": "s1"}, {"Name": "b", "Value": "s2"}],
        "InvalidParameters": [],
    }
    assert redact(shape, value) == {
        "Parameters": [{"Name": "a", "Value": HIDDEN}, {"Name": "b", "Value": HIDDEN}],
        "InvalidParameters": [],
    }


def test_none_and_unknown_members_pass() -> None:
    shape = operation_model("sts", "AssumeRole").output_shape
    assert redact(shape, None) is None
    assert redact(None, {"a": 1}) == {"a": 1}
    out = redact(shape, {"Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": "s"}, "Other": "x"})
    assert out == {"Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": HIDDEN}, "Other": "x"}


def _recursive_model() -> ServiceModel:
    return ServiceModel(
        {
            "metadata": {"protocol": "json", "apiVersion": "2020-01-01", "endpointPrefix": "x"},
            "operations": {},
            "shapes": {
                "A": {"type": "structure", "members": {"Child": {"shape": "B"}, "Secret": {"shape": "S"}}},
                "B": {"type": "structure", "members": {"Parent": {"shape": "A"}, "Plain": {"shape": "P"}}},
                "S": {"type": "string", "sensitive": True},
                "P": {"type": "string"},
            },
        },
        service_name="x",
    )


def test_recursive_shapes_answer_for_every_shape() -> None:
    """A shape reached only through a recursive cycle still knows it holds a secret."""
    model = _recursive_model()
    a = model.shape_for("A")
    assert has_sensitive(a)
    b = model.shape_for("B")
    assert has_sensitive(b)
    value = {"Parent": {"Secret": "x", "Child": {"Plain": "p", "Parent": {"Secret": "y"}}}, "Plain": "q"}
    assert redact(b, value) == {
        "Parent": {"Secret": HIDDEN, "Child": {"Plain": "p", "Parent": {"Secret": HIDDEN}}},
        "Plain": "q",
    }


def test_recursive_shapes_from_fresh_objects() -> None:
    """botocore makes new Shape objects per lookup: answers must not depend on object ids."""
    for _ in range(50):
        model = _recursive_model()
        assert has_sensitive(model.shape_for("B"))
        assert not has_sensitive(model.shape_for("P"))
