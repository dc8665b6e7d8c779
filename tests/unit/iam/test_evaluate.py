from typing import Any

from fleetward.iam.evaluate import DecisionKind, StatementRef, evaluate
from fleetward.iam.policy import CompiledPolicy, PolicyKind

from .helpers import ACCOUNT, PARAM, ROLE, SESSION, USER, ctx, policy, stmt

R = PolicyKind.RESOURCE
ALLOW_ALL = policy(stmt(Sid="All"), name="all")
OTHER = "999999999999"


def res(*statements: dict[str, Any]) -> CompiledPolicy:
    return policy(*statements, kind=R, name="res")


def test_no_policy_is_implicit_deny() -> None:
    d = evaluate(ctx())
    assert d.kind is DecisionKind.IMPLICIT_DENY
    assert d.denied_by == "identity-based policy"
    assert not d.allowed


def test_identity_allow() -> None:
    d = evaluate(ctx(), identity=[policy(stmt(Sid="A", Action="ssm:GetParameter", Resource=PARAM), name="p")])
    assert d.allowed
    assert d.statement == StatementRef("p", "identity", 0, "A")


def test_action_matching() -> None:
    p = policy(stmt(Action=["ssm:Get*"]))
    assert evaluate(ctx(action="SSM:getparameter"), identity=[p]).allowed
    assert evaluate(ctx(action="ssm:GetParameters"), identity=[p]).allowed
    assert not evaluate(ctx(action="ssm:PutParameter"), identity=[p]).allowed
    q = policy(stmt(Action="ssm:Get?arameter"))
    assert evaluate(ctx(), identity=[q]).allowed
    assert not evaluate(ctx(action="kms:GetParameter"), identity=[q]).allowed


def test_not_action_and_not_resource() -> None:
    p = policy({"Effect": "Allow", "NotAction": "ssm:Delete*", "Resource": "*"})
    assert evaluate(ctx(), identity=[p]).allowed
    assert not evaluate(ctx(action="ssm:DeleteParameter"), identity=[p]).allowed
    q = policy({"Effect": "Allow", "Action": "*", "NotResource": PARAM.replace("app/db", "secret/*")})
    assert evaluate(ctx(), identity=[q]).allowed
    assert not evaluate(ctx(resource=PARAM.replace("app/db", "secret/x")), identity=[q]).allowed


def test_resource_case_sensitive_and_wildcards() -> None:
    p = policy(stmt(Resource=PARAM.replace("app/db", "App/*")))
    assert not evaluate(ctx(), identity=[p]).allowed
    q = policy(stmt(Resource="arn:aws:ssm:*:*:parameter/app/*"))
    assert evaluate(ctx(), identity=[q]).allowed
    assert not evaluate(ctx(resource="*"), identity=[q]).allowed


def test_explicit_deny_wins_everywhere() -> None:
    deny = stmt("Deny", Sid="D", Action="ssm:GetParameter")
    d = evaluate(ctx(), identity=[ALLOW_ALL, policy(deny, name="d")])
    assert d.kind is DecisionKind.EXPLICIT_DENY
    assert d.denied_by == "identity-based policy"
    assert d.statement == StatementRef("d", "identity", 0, "D")
    d = evaluate(ctx(), identity=[ALLOW_ALL], resource=res(stmt(Principal="*"), {**deny, "Principal": "*"}))
    assert (d.kind, d.denied_by) == (DecisionKind.EXPLICIT_DENY, "resource-based policy")
    d = evaluate(ctx(), identity=[ALLOW_ALL], boundary=policy(stmt(), deny))
    assert (d.kind, d.denied_by) == (DecisionKind.EXPLICIT_DENY, "permissions boundary")
    d = evaluate(ctx(), identity=[ALLOW_ALL], session=[policy(stmt(), deny)])
    assert (d.kind, d.denied_by) == (DecisionKind.EXPLICIT_DENY, "session policy")


def test_conditional_deny() -> None:
    deny = policy(stmt("Deny", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert evaluate(ctx(keys={"aws:sourceip": "10.0.0.1"}), identity=[ALLOW_ALL, deny]).allowed
    d = evaluate(ctx(keys={"aws:sourceip": "8.8.8.8"}), identity=[ALLOW_ALL, deny])
    assert d.kind is DecisionKind.EXPLICIT_DENY


def test_boundary() -> None:
    only_kms = policy(stmt(Action="kms:*"), name="b")
    d = evaluate(ctx(), identity=[ALLOW_ALL], boundary=only_kms)
    assert (d.kind, d.denied_by) == (DecisionKind.IMPLICIT_DENY, "permissions boundary")
    assert evaluate(ctx(action="kms:Decrypt"), identity=[ALLOW_ALL], boundary=only_kms).allowed
    # a boundary never grants on its own
    d = evaluate(ctx(), boundary=ALLOW_ALL)
    assert d.denied_by == "identity-based policy"


def test_session_policies() -> None:
    principals = (SESSION, ROLE)
    only_kms = policy(stmt(Action="kms:*"))
    d = evaluate(ctx(principals=principals), identity=[ALLOW_ALL], session=[only_kms])
    assert (d.kind, d.denied_by) == (DecisionKind.IMPLICIT_DENY, "session policy")
    assert evaluate(ctx(principals=principals), identity=[ALLOW_ALL], session=[only_kms, ALLOW_ALL]).allowed
    assert evaluate(ctx(principals=principals), identity=[ALLOW_ALL], session=[]).allowed
    d = evaluate(ctx(principals=principals), session=[ALLOW_ALL])
    assert d.denied_by == "identity-based policy"


def test_resource_policy_naming_user_grants_alone() -> None:
    r = res(stmt(Sid="U", Principal={"AWS": USER}))
    d = evaluate(ctx(), resource=r)
    assert d.allowed
    assert d.statement == StatementRef("res", "resource", 0, "U")
    # not limited by a boundary for an IAM user
    assert evaluate(ctx(), resource=r, boundary=policy(stmt(Action="kms:*"))).allowed
    # another user is not named
    assert not evaluate(ctx(principals=(f"arn:aws:iam::{ACCOUNT}:user/bob",)), resource=r).allowed


def test_resource_policy_wildcard_and_service_principal() -> None:
    assert evaluate(ctx(), resource=res(stmt(Principal="*"))).allowed
    assert evaluate(ctx(), resource=res(stmt(Principal={"AWS": "*"}))).allowed
    svc = res(stmt(Principal={"Service": "ssm.amazonaws.com"}))
    assert evaluate(ctx(principals=(), service="ssm.amazonaws.com"), resource=svc).allowed
    assert not evaluate(ctx(), resource=svc).allowed


def test_resource_policy_role_session() -> None:
    principals = (SESSION, ROLE)
    only_kms = policy(stmt(Action="kms:*"))
    by_session = res(stmt(Principal={"AWS": SESSION}))
    assert evaluate(ctx(principals=principals), resource=by_session, session=[only_kms]).allowed
    by_role = res(stmt(Principal={"AWS": ROLE}))
    assert evaluate(ctx(principals=principals), resource=by_role).allowed
    d = evaluate(ctx(principals=principals), resource=by_role, session=[only_kms])
    assert d.denied_by == "session policy"
    d = evaluate(ctx(principals=principals), resource=by_role, boundary=only_kms)
    assert d.denied_by == "permissions boundary"


def test_account_root_delegates_to_iam() -> None:
    for principal in (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"):
        r = res(stmt(Principal={"AWS": principal}))
        d = evaluate(ctx(), resource=r)
        assert (d.kind, d.denied_by) == (DecisionKind.IMPLICIT_DENY, "identity-based policy")
        assert evaluate(ctx(), resource=r, identity=[ALLOW_ALL]).allowed
        assert evaluate(ctx(), resource=r, identity=[ALLOW_ALL], resource_policy_required=True).allowed


def test_resource_policy_required() -> None:
    d = evaluate(ctx(), identity=[ALLOW_ALL], resource_policy_required=True)
    assert (d.kind, d.denied_by) == (DecisionKind.IMPLICIT_DENY, "resource-based policy")
    other = res(stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}))
    d = evaluate(ctx(), identity=[ALLOW_ALL], resource=other, resource_policy_required=True)
    assert d.denied_by == "resource-based policy"
    mine = res(stmt(Principal={"AWS": USER}))
    assert evaluate(ctx(), resource=mine, resource_policy_required=True).allowed


def test_not_principal() -> None:
    r = res(
        {"Effect": "Deny", "Action": "*", "Resource": "*", "NotPrincipal": {"AWS": USER}},
        stmt(Principal="*"),
    )
    assert evaluate(ctx(), resource=r).allowed
    d = evaluate(ctx(principals=(f"arn:aws:iam::{ACCOUNT}:user/bob",)), resource=r)
    assert d.kind is DecisionKind.EXPLICIT_DENY


def test_cross_account_needs_both() -> None:
    r = res(stmt(Principal={"AWS": OTHER}))
    caller = ctx(principals=(f"arn:aws:iam::{OTHER}:user/x",), account=OTHER)
    assert evaluate(caller, identity=[ALLOW_ALL], resource=r, resource_account=ACCOUNT).allowed
    d = evaluate(caller, resource=r, resource_account=ACCOUNT)
    assert d.denied_by == "identity-based policy"
    d = evaluate(caller, identity=[ALLOW_ALL], resource_account=ACCOUNT)
    assert d.denied_by == "resource-based policy"
    direct = res(stmt(Principal={"AWS": f"arn:aws:iam::{OTHER}:user/x"}))
    assert not evaluate(caller, resource=direct, resource_account=ACCOUNT).allowed
