"""Policy evaluation: AWS's documented logic for requests within one account.

Order (IAM User Guide, "Policy evaluation logic"):

1. An explicit ``Deny`` that matches in any applicable policy (identity,
   resource, permissions boundary, session) decides: ``EXPLICIT_DENY``.
2. Within the account, a resource-policy ``Allow`` naming the caller itself
   (IAM user ARN, role-session ARN, ``"*"``, a service principal, or a
   NotPrincipal that does not exclude it) grants on its own: neither identity
   policies, boundary nor session policies limit it.
3. A resource-policy ``Allow`` naming the *role* of a role session grants
   without an identity policy but is limited by the boundary and session
   policies.
4. A resource-policy ``Allow`` naming the account (``"123456789012"`` or its
   ``:root`` ARN) delegates to IAM: it grants nothing by itself.
5. Otherwise an identity-policy ``Allow`` is needed, and the permissions
   boundary (if any) and a session policy (if any are given) must also allow.

With ``resource_policy_required`` (KMS key policies, role trust policies) an
``Allow`` in the resource policy is mandatory (steps 2-4; via step 4 only
together with an identity allow). Across accounts (``resource_account``
differs from the caller's) the resource policy must allow *and* the caller's
own policies must allow (step 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from fleetward.iam.context import RequestContext
from fleetward.iam.policy import CompiledPolicy
from fleetward.iam.statement import CompiledStatement, Effect, PrincipalMatch

__all__ = [
    "BOUNDARY",
    "IDENTITY",
    "RESOURCE",
    "SESSION",
    "Decision",
    "DecisionKind",
    "RequestContext",
    "StatementRef",
    "evaluate",
]

# Policy sets (StatementRef.policy_kind) and AWS's names for them (Decision.denied_by).
IDENTITY: Final = "identity"
RESOURCE: Final = "resource"
BOUNDARY: Final = "boundary"
SESSION: Final = "session"
_DENIED_BY: Final = {
    IDENTITY: "identity-based policy",
    RESOURCE: "resource-based policy",
    BOUNDARY: "permissions boundary",
    SESSION: "session policy",
}


class DecisionKind(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True, slots=True)
class StatementRef:
    """Which statement decided: the policy, its set, its position and Sid."""

    policy_name: str
    policy_kind: str  # "identity" | "resource" | "boundary" | "session"
    index: int
    sid: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome; ``denied_by`` names the policy type for AWS's denial message."""

    kind: DecisionKind
    statement: StatementRef | None
    denied_by: str | None

    @property
    def allowed(self) -> bool:
        return self.kind is DecisionKind.ALLOW


class _ExplicitDeny(Exception):
    def __init__(self, decision: Decision) -> None:
        self.decision = decision


def _ref(policy: CompiledPolicy, kind: str, statement: CompiledStatement) -> StatementRef:
    return StatementRef(policy.name, kind, statement.index, statement.sid)


def _scan(
    ctx: RequestContext, action: str, policies: Sequence[CompiledPolicy], kind: str
) -> tuple[StatementRef | None, PrincipalMatch]:
    """The most specific matching Allow; raises _ExplicitDeny on a matching Deny."""
    best: StatementRef | None = None
    best_match = PrincipalMatch.NONE
    for policy in policies:
        for statement in policy.statements:
            found = statement.match(ctx, action)
            if not found:
                continue
            if statement.effect is Effect.DENY:
                raise _ExplicitDeny(
                    Decision(
                        DecisionKind.EXPLICIT_DENY,
                        _ref(policy, kind, statement),
                        _DENIED_BY[kind],
                    )
                )
            if found > best_match:
                best, best_match = _ref(policy, kind, statement), found
    return best, best_match


def _implicit(kind: str) -> Decision:
    return Decision(DecisionKind.IMPLICIT_DENY, None, _DENIED_BY[kind])


def evaluate(
    ctx: RequestContext,
    *,
    identity: Sequence[CompiledPolicy] = (),
    resource: CompiledPolicy | None = None,
    boundary: CompiledPolicy | None = None,
    session: Sequence[CompiledPolicy] | None = None,
    resource_account: str | None = None,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide one request (see the module docstring for the rules).

    ``session`` None or empty means the caller has no session policy.
    Never raises for a valid context; the decision is a value.
    """
    action = ctx.action.lower()
    try:
        identity_allow, _ = _scan(ctx, action, identity, IDENTITY)
        resource_allow, resource_match = (
            _scan(ctx, action, (resource,), RESOURCE) if resource is not None else (None, PrincipalMatch.NONE)
        )
        boundary_allow = _scan(ctx, action, (boundary,), BOUNDARY)[0] if boundary is not None else None
        session_allow = _scan(ctx, action, session, SESSION)[0] if session else None
    except _ExplicitDeny as deny:
        return deny.decision

    cross_account = resource_account is not None and resource_account != ctx.principal_account
    if resource_allow is not None and resource_match is PrincipalMatch.DIRECT:
        if not cross_account:
            return Decision(DecisionKind.ALLOW, resource_allow, None)
    elif resource_allow is None and (resource_policy_required or cross_account):
        return _implicit(RESOURCE)

    grant = identity_allow
    if grant is None and resource_match is PrincipalMatch.ROLE and not cross_account:
        grant = resource_allow
    if grant is None:
        return _implicit(IDENTITY)
    if boundary is not None and boundary_allow is None:
        return _implicit(BOUNDARY)
    if session and session_allow is None:
        return _implicit(SESSION)
    return Decision(DecisionKind.ALLOW, grant, None)
