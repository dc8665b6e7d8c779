import pytest

from fleetward.iam.errors import MalformedPolicyError

from .helpers import holds, policy, stmt

K = "aws:username"


@pytest.mark.parametrize(
    ("operator", "values", "value", "expected"),
    [
        ("StringEquals", "alice", "alice", True),
        ("StringEquals", "alice", "Alice", False),
        ("StringEquals", ["bob", "alice"], "alice", True),
        ("StringNotEquals", "alice", "alice", False),
        ("StringNotEquals", ["bob", "carol"], "alice", True),
        ("StringNotEquals", ["bob", "alice"], "alice", False),
        ("StringEqualsIgnoreCase", "ALICE", "alice", True),
        ("StringEqualsIgnoreCase", "bob", "alice", False),
        ("StringNotEqualsIgnoreCase", "ALICE", "alice", False),
        ("StringNotEqualsIgnoreCase", "bob", "alice", True),
        ("StringLike", "al*", "alice", True),
        ("StringLike", "a?ice", "alice", True),
        ("StringLike", "Al*", "alice", False),
        ("StringNotLike", ["b*", "c*"], "alice", True),
        ("StringNotLike", ["b*", "a*"], "alice", False),
    ],
)
def test_string(operator: str, values: object, value: str, expected: bool) -> None:
    assert holds(operator, K, values, {K: value}) is expected


@pytest.mark.parametrize(
    ("operator", "policy_value", "value", "expected"),
    [
        ("NumericEquals", "10", "10", True),
        ("NumericEquals", 10, "10.0", True),
        ("NumericEquals", "10", "11", False),
        ("NumericNotEquals", "10", "11", True),
        ("NumericNotEquals", ["10", "11"], "11", False),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "10.5", True),
        ("NumericGreaterThan", "10", "3", False),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", "10", "ten", False),  # invalid request value never satisfies
    ],
)
def test_numeric(operator: str, policy_value: object, value: str, expected: bool) -> None:
    assert holds(operator, "s3:max-keys", policy_value, {"s3:max-keys": value}) is expected


T = "aws:currenttime"


@pytest.mark.parametrize(
    ("operator", "policy_value", "value", "expected"),
    [
        ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00", True),
        ("DateEquals", "2024-01-01T00:00:00Z", "1704067200", True),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
        ("DateLessThanEquals", "2024-01-01", "2024-01-01T00:00:00Z", True),
        ("DateGreaterThan", "1704067200", "2024-06-01T00:00:00Z", True),
        ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "2023-01-01T00:00:00Z", False),
        ("DateGreaterThan", "2024-01-01T00:00:00Z", "not a date", False),
    ],
)
def test_date(operator: str, policy_value: str, value: str, expected: bool) -> None:
    assert holds(operator, "aws:CurrentTime", policy_value, {T: value}) is expected


def test_bool() -> None:
    key = "aws:securetransport"
    assert holds("Bool", "aws:SecureTransport", "true", {key: "true"})
    assert holds("Bool", "aws:SecureTransport", True, {key: "true"})
    assert not holds("Bool", "aws:SecureTransport", False, {key: "true"})
    assert holds("Bool", "aws:SecureTransport", "TRUE", {key: "true"})
    assert not holds("Bool", "aws:SecureTransport", "true", {})
    assert holds("BoolIfExists", "aws:SecureTransport", "false", {})


def test_binary() -> None:
    assert holds("BinaryEquals", "x:blob", "QmluYXJ5", {"x:blob": "QmluYXJ5"})
    assert not holds("BinaryEquals", "x:blob", "QmluYXJ5", {"x:blob": "QmluYXJ6"})
    assert not holds("BinaryEquals", "x:blob", "QmluYXJ5", {"x:blob": "%%%"})


def test_ip() -> None:
    key = "aws:sourceip"
    assert holds("IpAddress", "aws:SourceIp", "10.0.0.0/8", {key: "10.1.2.3"})
    assert not holds("IpAddress", "aws:SourceIp", "10.0.0.0/8", {key: "11.1.2.3"})
    assert holds("IpAddress", "aws:SourceIp", ["192.168.1.1", "10.0.0.0/8"], {key: "192.168.1.1"})
    assert holds("IpAddress", "aws:SourceIp", "2001:db8::/32", {key: "2001:db8::1"})
    assert not holds("IpAddress", "aws:SourceIp", "2001:db8::/32", {key: "10.0.0.1"})
    assert holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {key: "11.1.2.3"})
    assert not holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {key: "10.1.2.3"})
    assert not holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {key: "garbage"})


def test_arn_operators() -> None:
    key = "aws:sourcearn"
    arn = "arn:aws:ssm:us-east-1:123456789012:document/x"
    for op in ("ArnEquals", "ArnLike"):
        assert holds(op, "aws:SourceArn", "arn:aws:ssm:*:123456789012:document/*", {key: arn})
        assert not holds(op, "aws:SourceArn", "arn:aws:ssm:*:111111111111:*", {key: arn})
    for op in ("ArnNotEquals", "ArnNotLike"):
        assert holds(op, "aws:SourceArn", "arn:aws:ssm:*:111111111111:*", {key: arn})
        assert not holds(op, "aws:SourceArn", "arn:aws:ssm:*:*:*", {key: arn})


def test_missing_key_semantics() -> None:
    assert not holds("StringEquals", K, "alice", {})
    assert holds("StringNotEquals", K, "alice", {})
    assert holds("StringNotLike", K, "a*", {})
    assert not holds("NumericLessThan", "x:n", "1", {})
    assert holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {})
    assert holds("StringEqualsIfExists", K, "alice", {})
    assert not holds("StringEqualsIfExists", K, "alice", {K: "bob"})
    assert holds("StringEqualsIfExists", K, "alice", {K: "alice"})
    assert holds("NumericLessThanIfExists", "x:n", "1", {})
    assert holds("ArnLikeIfExists", "aws:SourceArn", "arn:*:*:*:*:*", {})
    assert holds("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8", {})
    assert holds("DateGreaterThanIfExists", "aws:CurrentTime", "2020-01-01", {})
    assert not holds("StringNotEqualsIfExists", K, "alice", {K: "alice"})


def test_null() -> None:
    assert holds("Null", K, "true", {})
    assert not holds("Null", K, "true", {K: "alice"})
    assert holds("Null", K, "false", {K: "alice"})
    assert not holds("Null", K, False, {})
    assert holds("Null", "aws:TagKeys", "true", {"aws:tagkeys": []})


TAGS = "aws:tagkeys"


def test_for_all_values() -> None:
    op = "ForAllValues:StringEquals"
    assert holds(op, "aws:TagKeys", ["env", "team"], {TAGS: ["env"]})
    assert holds(op, "aws:TagKeys", ["env", "team"], {TAGS: ["env", "team"]})
    assert not holds(op, "aws:TagKeys", ["env", "team"], {TAGS: ["env", "cost"]})
    assert holds(op, "aws:TagKeys", ["env"], {})  # missing: true
    assert holds(op, "aws:TagKeys", ["env"], {TAGS: []})  # empty: true
    assert holds("ForAllValues:StringLike", "aws:TagKeys", "e*", {TAGS: ["env", "eu"]})
    assert holds("ForAllValues:StringNotEquals", "aws:TagKeys", ["x"], {TAGS: ["a", "b"]})
    assert not holds("ForAllValues:StringNotEquals", "aws:TagKeys", ["a"], {TAGS: ["a", "b"]})


def test_for_any_value() -> None:
    op = "ForAnyValue:StringEquals"
    assert holds(op, "aws:TagKeys", ["env"], {TAGS: ["cost", "env"]})
    assert not holds(op, "aws:TagKeys", ["env"], {TAGS: ["cost"]})
    assert not holds(op, "aws:TagKeys", ["env"], {})  # missing: false
    assert not holds(op, "aws:TagKeys", ["env"], {TAGS: []})  # empty: false
    assert holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], {TAGS: ["a", "b"]})
    assert not holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], {TAGS: ["a"]})
    assert holds("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", ["a"], {})
    assert holds("forallvalues:stringequals", "aws:TagKeys", ["a"], {TAGS: ["a"]})


def test_multi_valued_key_without_qualifier() -> None:
    assert holds("StringEquals", "aws:TagKeys", "a", {TAGS: ["b", "a"]})
    assert not holds("StringNotEquals", "aws:TagKeys", "a", {TAGS: ["b", "a"]})
    assert holds("StringNotEquals", "aws:TagKeys", "a", {TAGS: ["b", "c"]})


def test_blocks_and_or() -> None:
    p = policy(
        stmt(
            Condition={
                "StringEquals": {"aws:username": ["alice", "bob"], "aws:PrincipalTag/team": "x"},
                "Bool": {"aws:SecureTransport": "true"},
            }
        )
    )
    s = p.statements[0]
    good = {"aws:username": "bob", "aws:principaltag/team": "x", "aws:securetransport": "true"}
    assert s.conditions_hold(good)
    assert not s.conditions_hold({**good, "aws:principaltag/team": "y"})
    assert not s.conditions_hold({**good, "aws:securetransport": "false"})
    assert not s.conditions_hold({**good, "aws:username": "carol"})


def test_key_names_case_insensitive() -> None:
    assert holds("StringEquals", "AWS:UserName", "alice", {"aws:username": "alice"})


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("StringEqualz", "x"),
        ("NullIfExists", "true"),
        ("ForSomeValues:StringEquals", "x"),
        ("NumericEquals", "ten"),
        ("DateEquals", "yesterday"),
        ("IpAddress", "not-an-ip"),
        ("BinaryEquals", "%%%"),
    ],
)
def test_invalid_operator_or_value(operator: str, value: str) -> None:
    with pytest.raises(MalformedPolicyError) as err:
        policy(stmt(Condition={operator: {"aws:username": value}}))
    assert err.value.message == "Syntax errors in policy."
