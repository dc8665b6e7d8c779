from fleetward.iam.variables import Literal, Variable, parse_template

from .helpers import ACCOUNT, ctx, holds, policy, stmt

P = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"


def test_parse_template() -> None:
    assert parse_template("plain") is None
    t = parse_template("a/${aws:UserName}/${aws:PrincipalTag/team, 'none'}/${*}")
    assert t is not None
    assert t.parts == (
        "a/",
        Variable("aws:username", None),
        "/",
        Variable("aws:principaltag/team", "none"),
        "/",
        Literal("*"),
    )
    assert t.keys == ("aws:username", "aws:principaltag/team")
    assert t.resolve({"aws:username": "al"}) == "a/al/none/*"
    assert t.resolve({}) is None
    assert t.resolve({"aws:username": ["only"]}) == "a/only/none/*"
    assert t.resolve({"aws:username": ["a", "b"]}) is None


def _matches(
    resource_pattern: str, resource: str, keys: dict[str, str], version: str | None = "2012-10-17"
) -> bool:
    p = policy(stmt(Resource=resource_pattern), version=version)
    return p.statements[0].match(ctx(resource=resource, keys=keys), "ssm:getparameter") > 0


def test_resource_variable() -> None:
    pattern = f"{P}/home/${{aws:username}}/*"
    assert _matches(pattern, f"{P}/home/alice/x", {"aws:username": "alice"})
    assert not _matches(pattern, f"{P}/home/bob/x", {"aws:username": "alice"})
    assert not _matches(pattern, f"{P}/home/alice/x", {})  # unresolvable: no match


def test_substituted_value_is_literal() -> None:
    pattern = f"{P}/home/${{aws:username}}"
    assert not _matches(pattern, f"{P}/home/anyone", {"aws:username": "*"})
    assert _matches(pattern, f"{P}/home/*", {"aws:username": "*"})
    assert not _matches(pattern, f"{P}/home/ab", {"aws:username": "a?"})


def test_default_value() -> None:
    pattern = f"{P}/${{aws:PrincipalTag/team, 'shared'}}/*"
    assert _matches(pattern, f"{P}/shared/x", {})
    assert _matches(pattern, f"{P}/pay/x", {"aws:principaltag/team": "pay"})
    assert not _matches(pattern, f"{P}/shared/x", {"aws:principaltag/team": "pay"})


def test_escapes() -> None:
    assert _matches(f"{P}/a${{*}}b", f"{P}/a*b", {})
    assert not _matches(f"{P}/a${{*}}b", f"{P}/axb", {})
    assert _matches(f"{P}/a${{?}}", f"{P}/a?", {})
    assert not _matches(f"{P}/a${{?}}", f"{P}/ax", {})
    assert _matches(f"{P}/${{$}}x", f"{P}/$x", {})


def test_version_2008_does_not_substitute() -> None:
    pattern = f"{P}/home/${{aws:username}}"
    keys = {"aws:username": "alice"}
    assert not _matches(pattern, f"{P}/home/alice", keys, version="2008-10-17")
    assert _matches(pattern, f"{P}/home/${{aws:username}}", keys, version="2008-10-17")
    assert _matches(pattern, f"{P}/home/${{aws:username}}", keys, version=None)


def test_variables_in_conditions() -> None:
    keys = {"aws:username": "alice", "ssm:resourcetag/owner": "alice"}
    assert holds("StringEquals", "ssm:resourceTag/owner", "${aws:username}", keys)
    assert not holds(
        "StringEquals", "ssm:resourceTag/owner", "${aws:username}", {**keys, "aws:username": "bob"}
    )
    assert holds(
        "StringLike",
        "ssm:resourceTag/owner",
        "${aws:username}*",
        {**keys, "ssm:resourcetag/owner": "alice-2"},
    )
    assert not holds(
        "StringLike", "ssm:resourceTag/owner", "${aws:username}", {"ssm:resourcetag/owner": "alice"}
    )
    assert holds(
        "StringNotEquals",
        "ssm:resourceTag/owner",
        "${aws:username}",
        {"ssm:resourcetag/owner": "alice"},
    )
    assert holds(
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:iam::*:user/${aws:username}",
        {"aws:username": "a", "aws:sourcearn": "arn:aws:iam::1:user/a"},
    )
