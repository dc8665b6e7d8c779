"""Parameter policy parsing, AWS's errors, due times and the wire form."""

from __future__ import annotations

import orjson
import pytest

from fleetward.protocol.errors import ValidationException
from fleetward.services.ssm.errors import (
    IncompatiblePolicyException,
    InvalidPolicyAttributeException,
    InvalidPolicyTypeException,
    PoliciesLimitExceededException,
)
from fleetward.services.ssm.parameter_policies import (
    kept_policy_state,
    load_policies,
    parse_policies,
    policies_out,
    policy_due,
    store_policies,
)

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def doc(*items: dict[str, object]) -> str:
    return orjson.dumps(list(items)).decode()


EXP = {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2027-02-01T00:00:00.000Z"}}
NOTE = {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "2", "Unit": "Days"}}
NOCHANGE = {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "3", "Unit": "Hours"}}


def test_all_three() -> None:
    pols = parse_policies(doc(EXP, NOTE, NOCHANGE), NOW)
    assert [p.type for p in pols] == ["Expiration", "ExpirationNotification", "NoChangeNotification"]
    exp = pols[0].timestamp
    assert exp is not None
    assert policy_due(pols, NOW) == NOW + 3 * 3600
    assert policy_due(pols, NOW, {"NoChangeNotification"}) == exp - 2 * 86400
    assert policy_due(pols, NOW, {"NoChangeNotification", "ExpirationNotification", "Expiration"}) is None


def test_wire_form_and_status() -> None:
    stored = store_policies(parse_policies(doc(EXP, NOCHANGE), NOW))
    out = policies_out(stored, orjson.dumps(["NoChangeNotification"]).decode())
    assert [(p["PolicyType"], p["PolicyStatus"]) for p in out] == [
        ("Expiration", "Pending"),
        ("NoChangeNotification", "Finished"),
    ]
    assert orjson.loads(out[0]["PolicyText"]) == EXP


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("not json", ValidationException),
        (doc({"Type": "Bogus", "Attributes": {}}), InvalidPolicyTypeException),
        (doc(EXP, EXP), IncompatiblePolicyException),
        (doc(NOTE), IncompatiblePolicyException),
        (doc({**EXP, "Attributes": {"Timestamp": "2020-01-01T00:00:00Z"}}), InvalidPolicyAttributeException),
        (doc({**EXP, "Attributes": {"Timestamp": "tomorrow"}}), InvalidPolicyAttributeException),
        (doc({**NOCHANGE, "Attributes": {"After": "x", "Unit": "Days"}}), InvalidPolicyAttributeException),
        (doc({**NOCHANGE, "Attributes": {"After": "1", "Unit": "Weeks"}}), InvalidPolicyAttributeException),
        (doc({**NOCHANGE, "Attributes": {"After": "1", "Extra": "1"}}), InvalidPolicyAttributeException),
        (doc(*[NOCHANGE] * 11), PoliciesLimitExceededException),
    ],
)
def test_errors(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_policies(text, NOW)


def test_kept_policy_state_restarts_no_change_only() -> None:
    state = orjson.dumps(["ExpirationNotification", "NoChangeNotification"]).decode()
    assert kept_policy_state(state) == {"ExpirationNotification"}
    assert kept_policy_state(None) == set()
    kept = load_policies(store_policies(parse_policies(doc(EXP, NOTE, NOCHANGE), NOW)))
    assert [p.type for p in kept] == ["Expiration", "ExpirationNotification", "NoChangeNotification"]
