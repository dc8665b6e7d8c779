from fleetward.iam.arn import (
    Arn,
    PrincipalArnType,
    caller_arns,
    compile_arn_pattern,
    principal_arn_type,
)


def test_parse_and_str() -> None:
    arn = Arn.parse("arn:aws:ssm:us-east-1:123456789012:parameter/a:b")
    assert arn == Arn("aws", "ssm", "us-east-1", "123456789012", "parameter/a:b")
    assert str(arn) == "arn:aws:ssm:us-east-1:123456789012:parameter/a:b"
    assert Arn.parse("arn:aws:ssm") is None
    assert Arn.parse("nope:aws:ssm:r:a:res") is None


def test_principal_types() -> None:
    assert principal_arn_type("arn:aws:iam::123456789012:root") is PrincipalArnType.ROOT
    assert principal_arn_type("arn:aws:iam::123456789012:user/a") is PrincipalArnType.USER
    assert principal_arn_type("arn:aws:iam::123456789012:role/r") is PrincipalArnType.ROLE
    assert principal_arn_type("arn:aws:sts::123456789012:assumed-role/r/s") is PrincipalArnType.ASSUMED_ROLE
    assert principal_arn_type("x") is PrincipalArnType.OTHER


def test_caller_arns() -> None:
    assert caller_arns("arn:aws:sts::123456789012:assumed-role/R/S") == (
        "arn:aws:sts::123456789012:assumed-role/R/S",
        "arn:aws:iam::123456789012:role/R",
    )
    assert caller_arns("arn:aws:iam::123456789012:user/u") == ("arn:aws:iam::123456789012:user/u",)


def test_arn_pattern_is_per_segment() -> None:
    m = compile_arn_pattern("arn:aws:ssm:*:123456789012:parameter/*")
    assert m("arn:aws:ssm:us-east-1:123456789012:parameter/a/b:c")
    # '*' in the region segment cannot swallow the account segment
    assert not compile_arn_pattern("arn:aws:ssm:*:parameter/x")(
        "arn:aws:ssm:us-east-1:123456789012:parameter/x"
    )
    assert not m("arn:aws:ssm:us-east-1:999999999999:parameter/a")
    assert not m("not-an-arn")
    assert compile_arn_pattern("arn:aws:s?m:*:*:*")("arn:aws:ssm:r:1:x")
