import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fleetward.iam.document import check_iam_document, parse_legacy_date
from fleetward.iam.errors import MalformedPolicyError

from .helpers import stmt

BUCKET = "arn:aws:s3:::bucket"


def doc(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


def s3(**fields: Any) -> dict[str, Any]:
    fields.setdefault("Action", "s3:ListBucket")
    fields.setdefault("Resource", BUCKET)
    return stmt(**fields)


def message(text: str, *, trust: bool = False) -> str:
    with pytest.raises(MalformedPolicyError) as exc:
        check_iam_document(text, trust=trust)
    return exc.value.message


SYNTAX = "Syntax errors in policy."
VERSION = "Policy document must be version 2012-10-17 or greater."
LEGACY = "The policy failed legacy parsing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", SYNTAX),
        ("[]", SYNTAX),
        (doc(s3(), Extra=1), SYNTAX),
        (doc(s3(Extra=1)), SYNTAX),
        (doc(s3(Effect="maybe")), SYNTAX),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Action": "s3:X", "Resource": "*"}]}), SYNTAX),
        (doc(s3(Condition={"NotAnOperator": {"a": "b"}})), SYNTAX),
        (doc(s3(Condition={"ForAnyValue::StringEquals": {"a": "b"}})), SYNTAX),
        (doc(s3(Action={"a": 1})), SYNTAX),
        (json.dumps({"Version": "2013-10-17", "Statement": [s3()]}), SYNTAX),
        (json.dumps({"Statement": [s3()]}), VERSION),
        (json.dumps({"Version": "2008-10-17", "Statement": [s3()]}), VERSION),
        # Version is checked before everything but syntax.
        (json.dumps({"Statement": [s3(Effect="denY")]}), VERSION),
        (doc(s3(Effect="allow")), LEGACY),
        (doc(s3(Condition={"DateGreaterThan": {"aws:CurrentTime": "soon"}})), LEGACY),
        (doc(s3(Condition={"DateLessThan": {"aws:CurrentTime": "2016-13"}})), LEGACY),
        (doc(s3(Condition={"DateLessThan": {"aws:CurrentTime": "9223372036854775808"}})), LEGACY),
        (doc(s3(Resource="arn:aws:s3::bucket")), LEGACY),
        (doc(s3(NotResource=BUCKET)), SYNTAX),
        (doc({"Effect": "Allow", "Action": "s3:X", "NotResource": "arn:aws::::bucket"}), LEGACY),
        (doc(s3(Sid="a"), s3(Sid="a")), "Statement IDs (SID) in a single policy must be unique."),
        (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
        (doc(s3(Action=[])), "Policy statement must contain actions."),
        (doc(s3(Resource="bucket")), 'Resource bucket must be in ARN format or "*".'),
        (doc(s3(Resource="arn:aws")), "Resource vendor must be fully qualified and cannot contain regexes."),
        (
            doc(s3(Resource="aws:s3:::bucket")),
            'Partition "s3" is not valid for resource "arn:s3:::bucket:*".',
        ),
        (
            doc(s3(Resource="arn:aws:iam:us-east-1::user/x")),
            "IAM resource arn:aws:iam:us-east-1::user/x cannot contain region information.",
        ),
        (
            doc(s3(Resource="arn:aws:s3:us-east-1::bucket")),
            "Resource arn:aws:s3:us-east-1::bucket can not contain region information.",
        ),
        (doc(s3(Resource="arn:aws:iam::123456789012:bucket")), None),
        # The resource format error is reported after the action checks of phases 4-5...
        (doc(s3(Action="s:3:X", Resource="bucket")), 'Resource bucket must be in ARN format or "*".'),
        # ...and before the action prefix checks.
        (
            doc(s3(Action="ListBucket")),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (doc(s3(Action="s3:List:Bucket")), "Actions/Condition can contain only one colon."),
        (doc(s3(Action="s 3:ListBucket")), "Vendor s 3 is not valid"),
        (doc({"Effect": "Allow", "Action": "s3:X"}), "Policy statement must contain resources."),
    ],
)
def test_phases_and_messages(text: str, expected: str | None) -> None:
    if expected is None:  # the IAM path message lists every IAM resource type
        assert message(text).startswith('IAM resource path must either be "*" or start with user/, ')
    else:
        assert message(text) == expected


@pytest.mark.parametrize(
    "statement",
    [
        s3(),
        s3(Resource="arn:aws:fdsasf"),
        s3(Resource=[BUCKET, None]),
        s3(Action="s3.s:ListBucket"),
        s3(Action="*"),
        s3(Resource="arn:aws:iam::123456789012:role/x"),
        s3(Resource="arn:aws:s3:us-west-2:123456789012:accesspoint/ap"),
        s3(Condition={"DateGreaterThan": {}, "unknown": {}}),
        s3(Condition={"StringEqualsIfExists": {"a": "b"}, "ForAnyValue:StringLike": {"a": ["b"]}}),
        s3(Condition={"DateLessThanEquals": {"a": ["2019-07-01T13:20:15Z", "01T", "-292275054", "0"]}}),
        s3(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}),
    ],
)
def test_accepted(statement: dict[str, Any]) -> None:
    check_iam_document(doc(statement))


def test_trust_policies() -> None:
    trust = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}
    check_iam_document(doc(trust | {"Action": ["sts:AssumeRole", "sts:TagSession"]}), trust=True)
    assert message(doc(trust | {"Action": "sts:BadAssumeRole"}), trust=True) == (
        "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and "
        "sts:AssumeRoleWithWebIdentity"
    )
    assert (
        message(doc(trust | {"Action": "sts:AssumeRole", "Resource": BUCKET}), trust=True)
        == "Has prohibited field Resource."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
        ("1700000000", datetime.fromtimestamp(1700000000, UTC)),
        ("2019-07-01T13:20:15Z", datetime(2019, 7, 1, 13, 20, 15, tzinfo=UTC)),
        ("2019-07-01t13:20:15+02:00", datetime(2019, 7, 1, 11, 20, 15, tzinfo=UTC)),
        ("2019-07-01T13:20:15-01", datetime(2019, 7, 1, 14, 20, 15, tzinfo=UTC)),
        ("2016-12-13t2:00:00.5+23", datetime(2016, 12, 12, 3, 0, 0, 500000, tzinfo=UTC)),
        ("2019-02", datetime(2019, 2, 1, tzinfo=UTC)),
        ("2019", datetime.fromtimestamp(2019, UTC)),  # digits alone are epoch seconds
        ("01T", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_legacy_dates(text: str, expected: datetime) -> None:
    assert parse_legacy_date(text) == pytest.approx(expected.timestamp())


@pytest.mark.parametrize(
    "text", ["", "soon", "2016-13", "2016-12-32", "2016-1-1t24", "1t0:0:60", "1t0:0:0+1"]
)
def test_legacy_dates_refused(text: str) -> None:
    assert parse_legacy_date(text) is None
