"""The authorizer: every operation's Checks through the policy engine.

Context keys (lower-cased names) built for each request:
``aws:sourceip``, ``aws:currenttime``, ``aws:epochtime``, ``aws:securetransport``,
``aws:principalarn`` (the role ARN for a role session), ``aws:principalaccount``,
``aws:principaltype``, ``aws:principalisawsservice``, ``aws:viaawsservice``
(``true`` only on a call a service makes on the caller's behalf),
``aws:principaltag/*`` (user or role tags, session tags win), ``aws:username``
(users), ``aws:userid``, ``aws:multifactorauthpresent`` (sessions),
``aws:tokenissuetime`` and ``aws:sourceidentity`` (sessions),
``aws:requestedregion``, ``aws:requesttag/*`` and ``aws:tagkeys`` (from the
request's ``Tags`` member, or ``aws:tagkeys`` from an untagging call's
``TagKeys``), then the Check's own keys.

A denial raises ``AccessDeniedException`` (Query: ``AccessDenied``) with AWS's
message; the deciding statement goes to ``call.audit_extra`` (the audit
record's additionalEventData), never to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fleetward.auth.principal import Principal, PrincipalType
from fleetward.iam.context import RequestContext
from fleetward.iam.evaluate import Decision, DecisionKind, evaluate
from fleetward.protocol.errors import AccessDeniedException
from fleetward.protocol.registry import Check
from fleetward.services.iam.directory import Directory

__all__ = ["Authorizer", "call_keys", "deny_message", "global_keys", "request_tag_keys", "via_service_keys"]

_PRINCIPAL_TYPES = {
    PrincipalType.ROOT: "Account",
    PrincipalType.IAM_USER: "User",
    PrincipalType.ASSUMED_ROLE: "AssumedRole",
    PrincipalType.AWS_SERVICE: "AWSService",
}


_iso_cache: list[Any] = [None, ""]


def _iso(epoch: float) -> str:
    """aws:CurrentTime text; the last second's is reused (computed on every call)."""
    sec = int(epoch)
    if _iso_cache[0] != sec:
        _iso_cache[1] = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _iso_cache[0] = sec
    return str(_iso_cache[1])


def request_tag_keys(params: Mapping[str, Any] | None) -> dict[str, str | list[str]]:
    """``aws:RequestTag/<k>`` and ``aws:TagKeys`` from a request's ``Tags`` member
    (``[{"Key", "Value"}]`` or ``{k: v}``), or ``aws:TagKeys`` alone from the
    ``TagKeys`` of an untagging call; empty when there is neither."""
    if not params:
        return {}
    removed = params.get("TagKeys")
    if isinstance(removed, list) and removed and all(isinstance(k, str) for k in removed):
        return {"aws:tagkeys": list(removed)}
    tags = params.get("Tags")
    if tags is None:
        tags = params.get("tags")
    pairs: list[tuple[str, str]] = []
    if isinstance(tags, Mapping):
        pairs = [(str(k), str(v)) for k, v in tags.items()]
    elif isinstance(tags, list):
        for t in tags:
            if isinstance(t, Mapping) and "Key" in t:
                pairs.append((str(t["Key"]), str(t.get("Value", ""))))
    if not pairs:
        return {}
    out: dict[str, str | list[str]] = {f"aws:requesttag/{k.lower()}": v for k, v in pairs}
    out["aws:tagkeys"] = [k for k, _ in pairs]
    return out


def global_keys(
    principal: Principal,
    *,
    source_ip: str,
    now: float,
    secure: bool,
    region: str,
    params: Mapping[str, Any] | None = None,
    via_aws_service: bool = False,
) -> dict[str, str | list[str]]:
    """The global condition keys of one request (see the module docstring).

    ``via_aws_service`` for a call a service makes with the caller's credentials
    (Parameter Store -> KMS): ``aws:ViaAWSService`` is ``true`` there, ``false``
    on every direct call."""
    keys: dict[str, str | list[str]] = {
        "aws:sourceip": source_ip,
        "aws:currenttime": _iso(now),
        "aws:epochtime": str(int(now)),
        "aws:securetransport": "true" if secure else "false",
        "aws:principalarn": principal.role_arn or principal.arn,
        "aws:principalaccount": principal.account,
        "aws:principaltype": _PRINCIPAL_TYPES.get(principal.type, str(principal.type)),
        "aws:userid": principal.principal_id,
        "aws:requestedregion": region,
        "aws:viaawsservice": "true" if via_aws_service else "false",
        "aws:principalisawsservice": "true" if principal.type is PrincipalType.AWS_SERVICE else "false",
    }
    tags = {**principal.tags, **principal.session_tags}
    for k, v in tags.items():
        keys[f"aws:principaltag/{k.lower()}"] = v
    if principal.type is PrincipalType.IAM_USER:
        keys["aws:username"] = principal.name
        if principal.mfa:
            keys["aws:multifactorauthpresent"] = "true"
    elif principal.type is PrincipalType.ASSUMED_ROLE:
        keys["aws:multifactorauthpresent"] = "true" if principal.mfa else "false"
        if principal.session_created is not None:
            keys["aws:tokenissuetime"] = principal.session_created.strftime("%Y-%m-%dT%H:%M:%SZ")
        if principal.source_identity is not None:
            keys["aws:sourceidentity"] = principal.source_identity
    keys.update(request_tag_keys(params))
    return keys


def call_keys(call: Any) -> dict[str, str | list[str]]:
    """The global condition keys of the pipeline's ``call`` (step 5)."""
    return global_keys(
        call.principal,
        source_ip=call.source_ip,
        now=call.now,
        secure=call.tls is not None,
        region=call.region,
        params=call.params,
    )


def via_service_keys(ctx: Any, check: Check, params: Mapping[str, Any] | None) -> dict[str, str | list[str]]:
    """The global condition keys of a check a service makes with the caller's
    credentials mid-operation: ``aws:ViaAWSService`` true, and ``aws:CalledVia``
    (``...First``, ``...Last``) naming the calling service when the check names
    it in ``kms:viaservice`` (``ssm.<region>.amazonaws.com``)."""
    keys = global_keys(
        ctx.principal,
        source_ip=ctx.source_ip,
        now=ctx.now,
        secure=bool(getattr(ctx.env.settings, "tls_cert", "")),
        region=ctx.region,
        params=params,
        via_aws_service=True,
    )
    via = (check.keys or {}).get("kms:viaservice")
    if isinstance(via, str) and via.endswith(".amazonaws.com"):
        service = f"{via.split('.', 1)[0]}.amazonaws.com"
        keys.update({"aws:calledvia": [service], "aws:calledviafirst": service, "aws:calledvialast": service})
    return keys


def deny_message(principal: Principal, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording for ``decision``."""
    head = f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource}"
    what = decision.denied_by or "identity-based policy"
    if decision.kind is DecisionKind.EXPLICIT_DENY:
        article = "an" if what.startswith("identity") else "a"
        return f"{head} with an explicit deny in {article} {what}"
    return f"{head} because no {what} allows the {action} action"


def _audit(decision: Decision, check: Check) -> dict[str, Any]:
    out: dict[str, Any] = {"decision": str(decision.kind), "action": check.action, "resource": check.resource}
    ref = decision.statement
    if ref is not None:
        out.update(policyName=ref.policy_name, policyType=ref.policy_kind, statementIndex=ref.index)
        if ref.sid:
            out["sid"] = ref.sid
    elif decision.denied_by:
        out["deniedBy"] = decision.denied_by
    return out


class Authorizer:
    """Decides Checks for the pipeline (:meth:`authorize`) and for services (:meth:`check`)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def decide(self, principal: Principal, check: Check, base: Mapping[str, Any]) -> Decision:
        keys: dict[str, Any] = dict(base)
        if check.keys:
            keys.update({k.lower(): v for k, v in check.keys.items()})
        rctx = RequestContext(check.action, check.resource, principal.arns, principal.account, keys)
        if principal.type is PrincipalType.ROOT:
            # The account root is not limited by identity policies; only an
            # explicit deny in the resource's own policy stops it.
            decision = evaluate(rctx, resource=check.resource_policy, resource_account=check.resource_account)
            if decision.kind is DecisionKind.EXPLICIT_DENY:
                return decision
            return Decision(DecisionKind.ALLOW, None, None)
        policies = await self.directory.policies(principal)
        session = await self.directory.session_policies(principal)
        return evaluate(
            rctx,
            identity=policies.identity,
            resource=check.resource_policy,
            boundary=policies.boundary,
            session=session or None,
            resource_account=check.resource_account,
            resource_policy_required=check.resource_policy_required,
        )

    async def _run(
        self, principal: Principal, checks: Sequence[Check], base: Mapping[str, Any], audit: dict[str, Any]
    ) -> None:
        decisions: list[dict[str, Any]] = []
        for check in checks:
            decision = await self.decide(principal, check, base)
            decisions.append(_audit(decision, check))
            if not decision.allowed:
                audit.setdefault("authorization", []).extend(decisions)
                raise AccessDeniedException(deny_message(principal, check.action, check.resource, decision))
        audit.setdefault("authorization", []).extend(decisions)

    async def authorize(self, call: Any, checks: Sequence[Check]) -> None:
        """Raise AccessDeniedException unless every check is allowed (pipeline step 5)."""
        await self._run(call.principal, checks, call_keys(call), call.audit_extra)

    async def check(self, ctx: Any, check: Check, params: Mapping[str, Any] | None = None) -> None:
        """A mid-operation check "as the caller" (e.g. Parameter Store -> KMS with
        ``kms:viaservice``); raises AccessDeniedException with AWS's message.

        ``aws:ViaAWSService`` is true; ``aws:CalledVia`` (and ``...First``,
        ``...Last``) names the calling service's principal when the check names
        it in ``kms:viaservice`` (``ssm.<region>.amazonaws.com``)."""
        await self._run(ctx.principal, (check,), via_service_keys(ctx, check, params), ctx.audit_extra)
