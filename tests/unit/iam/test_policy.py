import json
from typing import Any

import pytest

from fleetward.iam.errors import MalformedPolicyError
from fleetward.iam.policy import PolicyKind, compile_policy
from fleetward.iam.statement import PrincipalMatch

from .helpers import ACCOUNT, USER, ctx, stmt


def err(doc: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> str:
    with pytest.raises(MalformedPolicyError) as exc:
        compile_policy(doc, kind=kind)
    return exc.value.message


def doc(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


def test_compiles_and_keeps_document() -> None:
    text = json.dumps(doc(stmt(Sid="One", Action="ssm:GetParameter")))
    p = compile_policy(text, name="mine")
    assert p.name == "mine"
    assert p.document == text
    assert p.version == "2012-10-17"
    assert len(p.statements) == 1
    assert p.statements[0].sid == "One"
    single = compile_policy({"Statement": stmt()})
    assert single.version == "2008-10-17"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "Syntax errors in policy."),
        ("[]", "Syntax errors in policy."),
        (doc(), "Syntax errors in policy."),
        ({"Version": "2012-10-17"}, "Syntax errors in policy."),
        (doc(stmt(), Foo=1), "Unknown field Foo"),
        (doc(stmt(Bar=1)), "Unknown field Bar"),
        ({"Version": "2020-01-01", "Statement": [stmt()]}, "The policy failed legacy parsing"),
        (doc({"Action": "*", "Resource": "*"}), "Missing required field Effect"),
        (doc(stmt(Effect="Alow")), "Invalid effect: Alow"),
        (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
        (doc(stmt(Action=[])), "Policy statement must contain actions."),
        (doc(stmt(NotAction="ssm:X")), "Syntax errors in policy."),
        (doc({"Effect": "Allow", "Action": "*"}), "Policy statement must contain resources."),
        (
            doc({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}),
            "Syntax errors in policy.",
        ),
        (
            doc(stmt(Action="GetParameter")),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (doc(stmt(Action="ssm:Get:X")), "Actions/Condition can contain only one colon."),
        (doc(stmt(Action="s s:Get")), "Vendor s s is not valid"),
        (doc(stmt(Resource="bucket")), 'Resource bucket must be in ARN format or "*".'),
        (doc(stmt(Principal="*")), "Policy document should not specify a principal."),
        (doc(stmt(NotPrincipal={"AWS": "*"})), "Policy document should not specify a principal."),
        (
            doc(stmt(Sid="a"), stmt(Sid="a")),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            doc(stmt(Sid="has space")),
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (doc(stmt(Condition={"StringEquals": "x"})), "Syntax errors in policy."),
        (doc(stmt(Condition={"StringEquals": {"aws:x": {"a": 1}}})), "Syntax errors in policy."),
        (doc(stmt(Action=1)), "Syntax errors in policy."),
    ],
)
def test_identity_validation(document: Any, message: str) -> None:
    assert err(document) == message


def test_resource_policy_validation() -> None:
    r = PolicyKind.RESOURCE
    assert err(doc(stmt()), r) == "Missing required field Principal"
    assert err(doc(stmt(Principal={"AWS": "bob"})), r) == 'Invalid principal in policy: "AWS":"bob"'
    assert err(doc(stmt(Principal={"Foo": "x"})), r) == 'Invalid principal in policy: "Foo"'
    assert err(doc(stmt(Principal="*", NotPrincipal="*")), r) == "Syntax errors in policy."
    # trust policies have no Resource; key policies may have spaces in Sids
    trust = compile_policy(
        doc(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "ssm.amazonaws.com"},
            }
        ),
        kind=r,
    )
    assert trust.statements[0].resources is None
    compile_policy(
        doc(
            stmt(
                Sid="Enable IAM User Permissions",
                Principal={"AWS": "arn:aws:iam::123456789012:root"},
            )
        ),
        kind=r,
    )
    compile_policy(doc(stmt(Principal={"AWS": ["123456789012", "*"]})), kind=r)


def test_deleted_principal_unique_id_compiles_and_matches_no_one() -> None:
    """IAM leaves a deleted user's id in a trust policy: it is valid and matches no caller."""
    trust = compile_policy(
        doc(stmt(Principal={"AWS": ["AIDAJQABLZS4A3QDU576Q", USER]})), kind=PolicyKind.RESOURCE
    )
    principal = trust.statements[0].principal
    assert principal is not None
    assert principal.match(ctx(principals=(USER,))) is PrincipalMatch.DIRECT
    other = f"arn:aws:iam::{ACCOUNT}:user/AIDAJQABLZS4A3QDU576Q"
    assert principal.match(ctx(principals=(other,))) is PrincipalMatch.NONE


def test_iam_leniencies_compile() -> None:
    """What IAM accepts on write compiles: empty or unknown-but-empty condition blocks,
    keys without a vendor, null resource entries, dotted vendors, short ARNs."""
    for statement in (
        stmt(Condition={"StringEquals": {"username": "x"}}),
        stmt(Condition={"DateGreaterThan": {}, "x": {}}),
        stmt(Resource=["arn:aws:kms:*:123456789012:key/*", None]),
        stmt(Action="s3.s:ListBucket"),
        stmt(Resource="arn:aws:fdsasf"),
        stmt(Condition={"DateLessThan": {"aws:CurrentTime": "2016-12-13t2:00:00.593194+23"}}),
    ):
        compile_policy(doc(statement))
