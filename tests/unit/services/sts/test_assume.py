import json

from fleetward.services.sts.assume import _compile_trust, _packed_percent

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_trust_policy_compiled_once_per_document() -> None:
    first = _compile_trust(TRUST)
    assert first is not None and _compile_trust(TRUST) is first
    assert _compile_trust("{") is None  # unreadable: allows nothing


def test_packed_percent() -> None:
    assert _packed_percent(None, [], {}) == 0
    assert 0 < _packed_percent(TRUST, ["arn:aws:iam::aws:policy/ReadOnlyAccess"], {"k": "v"}) < 100
