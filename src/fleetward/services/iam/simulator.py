"""The policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy."""

from __future__ import annotations

from typing import Any

from fleetward.iam.arn import Arn
from fleetward.iam.context import RequestContext
from fleetward.iam.evaluate import DecisionKind, evaluate
from fleetward.iam.policy import CompiledPolicy, PolicyKind
from fleetward.iam.simulate import EvalDecision, simulate_policy
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import KINDS, Kind, entity_row
from fleetward.services.iam.errors import InvalidInput

_LIST_TYPES = {"stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList"}
_DECISIONS = {
    DecisionKind.ALLOW: EvalDecision.ALLOWED,
    DecisionKind.EXPLICIT_DENY: EvalDecision.EXPLICIT_DENY,
    DecisionKind.IMPLICIT_DENY: EvalDecision.IMPLICIT_DENY,
}


def _context_keys(entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for e in entries or ():
        values = [str(v) for v in e.get("ContextKeyValues") or ()]
        if e.get("ContextKeyType") in _LIST_TYPES or len(values) != 1:
            keys[e["ContextKeyName"].lower()] = values
        else:
            keys[e["ContextKeyName"].lower()] = values[0]
    return keys


def _source_type(name: str, fallback: str) -> str:
    if name.startswith("arn:aws:iam::aws:"):
        return "aws-managed"
    if name.startswith("arn:"):
        return "user-managed"
    return fallback


def _simulate(
    req: dict[str, Any],
    account: str,
    caller: str,
    identity: list[tuple[CompiledPolicy, str]],
    boundary: CompiledPolicy | None,
) -> dict[str, Any]:
    resource_policy = None
    if req.get("ResourcePolicy"):
        resource_policy = store.compile_document(
            req["ResourcePolicy"], kind=PolicyKind.RESOURCE, name="ResourcePolicy"
        )
    keys = _context_keys(req.get("ContextEntries"))
    resources = req.get("ResourceArns") or ["*"]
    owner = req.get("ResourceOwner")
    parsed_owner = Arn.parse(owner) if owner else None
    owner_account = parsed_owner.account if parsed_owner is not None else None
    results: list[dict[str, Any]] = []
    for action in req["ActionNames"]:
        for resource in resources:
            rctx = RequestContext(action, resource, (caller,) if caller else (), account, keys)
            decision = evaluate(
                rctx,
                identity=[p for p, _ in identity],
                resource=resource_policy,
                boundary=boundary,
                resource_account=owner_account or None,
            )
            final = _DECISIONS[decision.kind]
            matched: list[dict[str, Any]] = []
            missing: set[str] = set()
            sources = list(identity)
            if resource_policy is not None:
                sources.append((resource_policy, "resource"))
            for policy, ptype in sources:
                result = simulate_policy(rctx, policy)
                missing.update(result.missing_context_values)
                if result.decision is final and final is not EvalDecision.IMPLICIT_DENY:
                    for s in result.matched_statements:
                        st: dict[str, Any] = {
                            "SourcePolicyId": policy.name or ptype,
                            "SourcePolicyType": _source_type(policy.name, ptype),
                        }
                        if s.start and s.end:
                            st["StartPosition"] = {"Line": s.start.line, "Column": s.start.column}
                            st["EndPosition"] = {"Line": s.end.line, "Column": s.end.column}
                        matched.append(st)
            out: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": str(final),
                "MatchedStatements": matched,
                "MissingContextValues": sorted(missing),
            }
            if boundary is not None:
                allowed = simulate_policy(rctx, boundary).decision is EvalDecision.ALLOWED
                out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
            results.append(out)
    return store.page(results, req, "EvaluationResults")


def _inputs(req: dict[str, Any]) -> tuple[list[tuple[CompiledPolicy, str]], CompiledPolicy | None]:
    extra = [
        (store.compile_document(doc, name=f"PolicyInputList.{i + 1}"), "IAM Policy")
        for i, doc in enumerate(req.get("PolicyInputList") or ())
    ]
    boundaries = req.get("PermissionsBoundaryPolicyInputList") or []
    if len(boundaries) > 1:
        raise InvalidInput("Only one permissions boundary policy may be specified.")
    boundary = (
        store.compile_document(boundaries[0], name="PermissionsBoundaryPolicyInputList.1")
        if boundaries
        else None
    )
    return extra, boundary


async def _authz_principal(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return [Check("iam:SimulatePrincipalPolicy", req["PolicySourceArn"])]


async def _principal_policies(ctx: CallContext, source: str) -> tuple[Kind, Any]:
    """The user, group or role ``source`` names (its kind) and its loaded policies
    (a user's include its groups'); InvalidInput or NoSuchEntity otherwise."""
    parsed = Arn.parse(source)
    if parsed is None or parsed.service != "iam" or parsed.account != ctx.account:
        raise InvalidInput(f"Invalid ARN: {source}")
    word, _, rest = parsed.resource.partition("/")
    kind = KINDS.get(word)
    if kind is None or not rest:
        raise InvalidInput(f"Invalid ARN: {source}")
    row = await entity_row(ctx.conn, kind, ctx.account, rest.rsplit("/", 1)[-1])
    directory = ctx.env.extras.get("iam")
    if directory is None:
        raise InvalidInput("the policy simulator needs the IAM directory")
    return kind, await directory.load_policies(ctx.conn, kind.word, row["id"])


@operation("iam", "SimulatePrincipalPolicy", read_only=True, authorize=_authz_principal)
async def simulate_principal_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    source = req["PolicySourceArn"]
    kind, loaded = await _principal_policies(ctx, source)
    identity = [(p, _source_type(p.name, kind.word)) for p in loaded.identity]
    extra, boundary = _inputs(req)
    caller = req.get("CallerArn") or (source if kind.word == "user" else "")
    return _simulate(req, ctx.account, caller, identity + extra, boundary or loaded.boundary)


@operation("iam", "SimulateCustomPolicy", read_only=True)
async def simulate_custom_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    extra, boundary = _inputs(req)
    return _simulate(req, ctx.account, req.get("CallerArn") or "", extra, boundary)


def _context_key_names(policies: list[CompiledPolicy]) -> dict[str, list[str]]:
    """``ContextKeyNames``: the condition keys and policy variables the policies
    reference, each once whatever its case, sorted."""
    found: dict[str, str] = {}
    for policy in policies:
        for statement in policy.statements:
            for key in statement.condition_keys:
                found.setdefault(key.lower(), key)
    return {"ContextKeyNames": [found[k] for k in sorted(found)]}


@operation("iam", "GetContextKeysForCustomPolicy", read_only=True)
async def get_context_keys_for_custom_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    return _context_key_names(
        [
            store.compile_document(doc, name=f"PolicyInputList.{i + 1}")
            for i, doc in enumerate(req["PolicyInputList"])
        ]
    )


async def _authz_context_keys(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return [Check("iam:GetContextKeysForPrincipalPolicy", req["PolicySourceArn"])]


@operation("iam", "GetContextKeysForPrincipalPolicy", read_only=True, authorize=_authz_context_keys)
async def get_context_keys_for_principal_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The keys of the user's (with its groups'), group's or role's identity
    policies and of ``PolicyInputList``."""
    _, loaded = await _principal_policies(ctx, req["PolicySourceArn"])
    extra = [
        store.compile_document(doc, name=f"PolicyInputList.{i + 1}")
        for i, doc in enumerate(req.get("PolicyInputList") or ())
    ]
    return _context_key_names([*loaded.identity, *extra])
