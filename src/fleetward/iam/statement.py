"""A compiled policy statement and how it matches a request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from fleetward.iam.arn import PrincipalArnType, principal_arn_type
from fleetward.iam.conditions import Condition
from fleetward.iam.context import RequestContext
from fleetward.iam.variables import ContextKeys, WildcardValue
from fleetward.iam.wildcard import Matcher

__all__ = ["CompiledStatement", "Effect", "PrincipalMatch", "PrincipalSpec"]


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class PrincipalMatch(IntEnum):
    """How a statement's Principal names the caller (higher is more specific).

    ``ACCOUNT``: the caller's account (``"123456789012"`` or its ``:root`` ARN),
    a delegation to the account's IAM policies. ``ROLE``: the role ARN of a
    role session. ``DIRECT``: the caller itself (user or session ARN, ``"*"``,
    a service principal, or a NotPrincipal that does not exclude the caller), and
    also any statement without a Principal element (identity policies).
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A parsed Principal/NotPrincipal value."""

    everyone: bool
    arns: frozenset[str]  # user, role, session ... ARNs (exact)
    role_arns: frozenset[str]  # subset of ``arns`` naming roles
    accounts: frozenset[str]  # account ids, also from ``arn:...:iam::<id>:root``
    services: frozenset[str]
    federated: frozenset[str]

    def match(self, ctx: RequestContext) -> PrincipalMatch:
        if self.everyone:
            return PrincipalMatch.DIRECT
        if ctx.principal_service is not None and ctx.principal_service in self.services:
            return PrincipalMatch.DIRECT
        best = PrincipalMatch.NONE
        for arn in ctx.principal_arns:
            if arn in self.arns:
                if arn not in self.role_arns:
                    return PrincipalMatch.DIRECT
                best = PrincipalMatch.ROLE
        if best is PrincipalMatch.NONE and ctx.principal_account in self.accounts:
            return PrincipalMatch.ACCOUNT
        return best

    @classmethod
    def build(
        cls, everyone: bool, aws: list[str], services: list[str], federated: list[str]
    ) -> PrincipalSpec:
        arns: set[str] = set()
        roles: set[str] = set()
        accounts: set[str] = set()
        for value in aws:
            if value == "*":
                everyone = True
            elif value.isdigit():
                accounts.add(value)
            else:
                kind = principal_arn_type(value)
                if kind is PrincipalArnType.ROOT:
                    accounts.add(value.split(":")[4])
                else:
                    arns.add(value)
                    if kind is PrincipalArnType.ROLE:
                        roles.add(value)
        return cls(
            everyone,
            frozenset(arns),
            frozenset(roles),
            frozenset(accounts),
            frozenset(services),
            frozenset(federated),
        )


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement, with every wildcard compiled; :meth:`match` is the contract."""

    index: int
    sid: str | None
    effect: Effect
    not_action: bool
    action_all: bool
    action_exact: frozenset[str]  # lowercased
    action_globs: tuple[Matcher, ...]  # on the lowercased action
    not_resource: bool
    resources: tuple[WildcardValue, ...] | None  # None: no Resource element
    principal: PrincipalSpec | None  # None: no Principal element
    not_principal: bool
    conditions: tuple[Condition, ...]

    def matches_action(self, action_lower: str) -> bool:
        hit = (
            self.action_all
            or action_lower in self.action_exact
            or any(m(action_lower) for m in self.action_globs)
        )
        return hit != self.not_action

    def matches_resource(self, resource: str, keys: ContextKeys) -> bool:
        if self.resources is None:
            return True
        hit = False
        for value in self.resources:
            matcher = value.matcher(keys)
            if matcher is not None and matcher(resource):
                hit = True
                break
        return hit != self.not_resource

    def match_principal(self, ctx: RequestContext) -> PrincipalMatch:
        if self.principal is None:
            return PrincipalMatch.DIRECT
        found = self.principal.match(ctx)
        if self.not_principal:
            return PrincipalMatch.NONE if found else PrincipalMatch.DIRECT
        return found

    def conditions_hold(self, keys: ContextKeys) -> bool:
        for condition in self.conditions:
            if not condition.evaluate(keys):
                return False
        return True

    def match(self, ctx: RequestContext, action_lower: str) -> PrincipalMatch:
        """How this statement applies to the request; ``NONE`` when it does not."""
        if not self.matches_action(action_lower):
            return PrincipalMatch.NONE
        keys = ctx.keys
        if not self.matches_resource(ctx.resource, keys):
            return PrincipalMatch.NONE
        found = self.match_principal(ctx)
        if found and not self.conditions_hold(keys):
            return PrincipalMatch.NONE
        return found

    @property
    def condition_keys(self) -> frozenset[str]:
        """Context keys referenced: condition keys as written, variable keys lowercased."""
        keys = {c.key_name for c in self.conditions}
        for c in self.conditions:
            keys.update(c.referenced_variables)
        for value in self.resources or ():
            keys.update(value.keys)
        return frozenset(keys)
