"""Parameter names, paths, labels, selectors and ARNs (AWS's rules and messages)."""

from __future__ import annotations

import pytest

from fleetward.protocol.errors import AccessDeniedException, ValidationException
from fleetward.services.ssm.errors import HierarchyLevelLimitExceededException
from fleetward.services.ssm.names import (
    FULLY_QUALIFIED_MESSAGE,
    PATH_MESSAGE,
    PREFIX_MESSAGE,
    SSM_PATH_MESSAGE,
    Selector,
    check_label,
    check_name,
    check_path,
    other_spelling,
    param_arn,
    parent_of,
    parse_selector,
    path_arn,
    request_name,
    trim,
)

R, A = "us-east-1", "111122223333"


@pytest.mark.parametrize("name", ["a", "/a", "/a/b.c-d_e", "A1", "/" + "/".join(["l"] * 15)])
def test_valid_names(name: str) -> None:
    check_name(name, R, A)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("awsThing", PREFIX_MESSAGE),
        ("SSM-test", PREFIX_MESSAGE),
        ("/ssmThing", PREFIX_MESSAGE),
        ("/ssm/x", SSM_PATH_MESSAGE),
        ("/Ssmx/y", SSM_PATH_MESSAGE),
        ("a b", PATH_MESSAGE),
        ("/a//b", PATH_MESSAGE),
        ("/a/", PATH_MESSAGE),
        ("a/b", FULLY_QUALIFIED_MESSAGE),
    ],
)
def test_invalid_names(name: str, message: str) -> None:
    with pytest.raises(ValidationException) as e:
        check_name(name, R, A)
    assert e.value.message == message


@pytest.mark.parametrize("name", ["/aws/x", "/AWSx/y/z"])
def test_reserved_aws_path_is_access_denied(name: str) -> None:
    with pytest.raises(AccessDeniedException) as e:
        check_name(name, R, A)
    assert e.value.message == f"No access to reserved parameter name: {name}."


def test_other_spelling_of_top_level_names_only() -> None:
    assert (other_spelling("/a"), other_spelling("a")) == ("a", "/a")
    assert other_spelling("/a/b") is None
    assert other_spelling("/") is None


def test_hierarchy_limit() -> None:
    with pytest.raises(HierarchyLevelLimitExceededException):
        check_name("/" + "/".join(["l"] * 16), R, A)


def test_length_counts_the_arn() -> None:
    prefix = len(param_arn(R, A, ""))
    check_name("x" * (1011 - prefix), R, A)
    with pytest.raises(ValidationException, match="1011"):
        check_name("x" * (1012 - prefix), R, A)


def test_arns_ignore_the_leading_slash() -> None:
    assert param_arn(R, A, "/a") == param_arn(R, A, "a") == f"arn:aws:ssm:{R}:{A}:parameter/a"
    assert path_arn(R, A, "/app/") == f"arn:aws:ssm:{R}:{A}:parameter/app"
    assert path_arn(R, A, "/") == f"arn:aws:ssm:{R}:{A}:parameter/"


def test_parent() -> None:
    assert parent_of("/a/b/c") == "/a/b"
    assert parent_of("/a") == ""
    assert parent_of("a") == ""


@pytest.mark.parametrize("path", ["/", "/app", "/app/x/"])
def test_valid_paths(path: str) -> None:
    check_path(path)


@pytest.mark.parametrize("path", ["app", "/a//b", "/ssm/x", "/a b"])
def test_invalid_paths(path: str) -> None:
    with pytest.raises(ValidationException):
        check_path(path)


@pytest.mark.parametrize(
    ("label", "ok"),
    [
        ("prod", True),
        ("v1.2-x_y", True),
        ("1st", False),
        ("awsx", False),
        ("SSMx", False),
        ("a b", False),
        ("x" * 101, False),
    ],
)
def test_labels(label: str, ok: bool) -> None:
    assert check_label(label) is ok


def test_selectors() -> None:
    assert parse_selector("/a", R, A) == Selector("/a")
    assert parse_selector("/a:3", R, A) == Selector("/a", version=3)
    assert parse_selector("/a:prod", R, A) == Selector("/a", label="prod")
    assert parse_selector("/a:b:c", R, A) is None
    assert parse_selector("/a:", R, A) is None
    assert parse_selector(f"arn:aws:ssm:{R}:{A}:parameter/x/y:2", R, A) == Selector("/x/y", version=2)
    assert parse_selector(f"arn:aws:ssm:{R}:{A}:parameter/x", R, A) == Selector("x")
    assert parse_selector(f"arn:aws:ssm:eu-west-1:{A}:parameter/x", R, A) is None
    assert Selector("/a", version=3).text == ":3"
    assert Selector("/a", label="p").text == ":p"


def test_surrounding_spaces_are_removed() -> None:
    assert trim("  /a/b ") == "/a/b"
    assert trim("/a b") == "/a b"  # inside: left for check_name to refuse
    assert parse_selector(" /a/b:3 ", R, A) == Selector("/a/b", version=3)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("/a/b", "/a/b"),
        (" /a/b ", "/a/b"),
        (f"arn:aws:ssm:{R}:{A}:parameter/a/b", "/a/b"),
        (f" arn:aws:ssm:{R}:{A}:parameter/top", "top"),
        ("arn:aws:ssm:eu-west-1:999999999999:parameter/a", "arn:aws:ssm:eu-west-1:999999999999:parameter/a"),
    ],
)
def test_request_name(value: str, name: str) -> None:
    assert request_name(value, R, A) == name
