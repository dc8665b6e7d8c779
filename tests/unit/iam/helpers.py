"""Shared builders for the IAM engine tests."""

from collections.abc import Mapping, Sequence
from typing import Any

from fleetward.iam.context import RequestContext
from fleetward.iam.policy import CompiledPolicy, PolicyKind, compile_policy

ACCOUNT = "123456789012"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/R"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/R/S"
PARAM = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/db"


def ctx(
    action: str = "ssm:GetParameter",
    resource: str = PARAM,
    keys: Mapping[str, str | Sequence[str]] | None = None,
    principals: tuple[str, ...] = (USER,),
    account: str = ACCOUNT,
    service: str | None = None,
) -> RequestContext:
    return RequestContext(action, resource, principals, account, keys or {}, service)


def stmt(effect: str = "Allow", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect}
    out.update(fields)
    out.setdefault("Action", "*")
    if "NotResource" not in out:
        out.setdefault("Resource", "*")
    return out


def policy(
    *statements: dict[str, Any],
    name: str = "p",
    kind: PolicyKind = PolicyKind.IDENTITY,
    version: str | None = "2012-10-17",
) -> CompiledPolicy:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        doc["Version"] = version
    return compile_policy(doc, kind=kind, name=name)


def holds(operator: str, key: str, values: Any, keys: Mapping[str, Any]) -> bool:
    """Whether a single-condition Allow statement matches a request with these keys."""
    p = policy(stmt(Condition={operator: {key: values}}))
    return p.statements[0].conditions_hold(keys)
