from fleetward.iam.policy import compile_policy
from fleetward.iam.simulate import EvalDecision, Position, simulate_policy, statement_spans

from .helpers import ctx

TEXT = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "ssm:Get*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "x"}}},
    {"Sid": "NoDelete", "Effect": "Deny", "Action": "ssm:Delete*", "Resource": "*"}
  ]
}"""


def test_spans() -> None:
    assert statement_spans(TEXT) == [
        (Position(4, 5), Position(5, 67)),
        (Position(6, 5), Position(6, 83)),
    ]
    single = '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}, "Version": "2012-10-17"}'
    assert statement_spans(single) == [(Position(1, 15), Position(1, 65))]
    assert statement_spans('{"Id": "x \\" {", "Statement": [{}]}') == [(Position(1, 32), Position(1, 33))]


def test_allowed_and_missing_context() -> None:
    p = compile_policy(TEXT, name="p")
    result = simulate_policy(ctx(keys={"aws:principaltag/team": "x"}), p)
    assert result.decision is EvalDecision.ALLOWED
    assert [s.sid for s in result.matched_statements] == ["Read"]
    assert result.matched_statements[0].start == Position(4, 5)
    assert result.missing_context_values == ()
    missing = simulate_policy(ctx(), p)
    assert missing.decision is EvalDecision.IMPLICIT_DENY
    assert missing.missing_context_values == ("aws:PrincipalTag/team",)


def test_explicit_deny() -> None:
    p = compile_policy(TEXT, name="p")
    result = simulate_policy(ctx(action="ssm:DeleteParameter"), p)
    assert result.decision is EvalDecision.EXPLICIT_DENY
    assert [s.sid for s in result.matched_statements] == ["NoDelete"]
    # a statement that does not apply to the action reports no missing keys
    assert result.missing_context_values == ()
