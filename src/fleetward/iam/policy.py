"""Policy documents: validation with IAM's messages, and compilation.

:func:`compile_policy` is the only entry point. It validates a document the
way IAM's ``MalformedPolicyDocument`` checks do (raising
:class:`~fleetward.iam.errors.MalformedPolicyError`) and compiles every
wildcard, condition and variable once, so evaluation does no parsing. Size
limits are the caller's concern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from fleetward.iam.conditions import Condition, UnknownOperatorError, compile_condition
from fleetward.iam.document import STATEMENT_FIELDS, SYNTAX, TOP_FIELDS, VENDOR
from fleetward.iam.errors import MalformedPolicyError
from fleetward.iam.statement import CompiledStatement, Effect, PrincipalSpec
from fleetward.iam.variables import WildcardValue
from fleetward.iam.wildcard import Matcher, compile_glob, has_wildcard

__all__ = ["CompiledPolicy", "MalformedPolicyError", "PolicyKind", "compile_policy"]

VERSION_2012: Final = "2012-10-17"
VERSION_2008: Final = "2008-10-17"

_PRINCIPAL_TYPES: Final = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_VENDOR_RE: Final = re.compile(r"[a-zA-Z0-9.-]+")
_SID_RE: Final = re.compile(r"[0-9A-Za-z]*")
_ACCOUNT_RE: Final = re.compile(r"\d{12}")
# The unique id IAM leaves in a policy in place of a deleted user's or role's ARN
# (it matches no caller).
_UNIQUE_ID_RE: Final = re.compile(r"A(?:IDA|ROA)[A-Z0-9]{12,124}")


class PolicyKind(StrEnum):
    """Identity policies forbid Principal; resource policies require it."""

    IDENTITY = "identity"
    RESOURCE = "resource"


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """An immutable, validated policy, reusable across requests.

    ``document`` is the original text (or the JSON of the mapping given).
    """

    name: str
    kind: PolicyKind
    version: str
    document: str
    statements: tuple[CompiledStatement, ...]


def compile_policy(
    document: str | Mapping[str, Any], *, kind: PolicyKind = PolicyKind.IDENTITY, name: str = ""
) -> CompiledPolicy:
    """Validate and compile a policy document.

    Raises :class:`MalformedPolicyError` (IAM's ``MalformedPolicyDocument``
    message in ``.message``) when IAM would refuse the document.
    """
    if isinstance(document, str):
        text = document
        try:
            parsed = json.loads(document)
        except ValueError as exc:
            raise MalformedPolicyError(SYNTAX, f"invalid JSON: {exc}") from exc
    else:
        parsed = document
        text = json.dumps(document)
    if not isinstance(parsed, Mapping):
        raise MalformedPolicyError(SYNTAX, "the document is not a JSON object")
    for field in parsed:
        if field not in TOP_FIELDS:
            raise MalformedPolicyError(f"Unknown field {field}")
    version = parsed.get("Version", VERSION_2008)
    if version not in (VERSION_2012, VERSION_2008):
        raise MalformedPolicyError("The policy failed legacy parsing", f"Version {version!r}")
    if "Id" in parsed and not isinstance(parsed["Id"], str):
        raise MalformedPolicyError(SYNTAX, "Id must be a string")
    raw_statements = parsed.get("Statement")
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicyError(SYNTAX, "Statement must be an object or a non-empty list")
    substitute = version == VERSION_2012
    statements: list[CompiledStatement] = []
    sids: set[str] = set()
    for index, raw in enumerate(raw_statements):
        statement = _compile_statement(index, raw, kind, substitute)
        if statement.sid:
            if statement.sid in sids:
                raise MalformedPolicyError("Statement IDs (SID) in a single policy must be unique.")
            sids.add(statement.sid)
        statements.append(statement)
    return CompiledPolicy(name, kind, version, text, tuple(statements))


def _strings(value: Any, what: str) -> list[str]:
    """A string or a list of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise MalformedPolicyError(SYNTAX, f"{what} must be a string or a list of strings")


def _one_of(raw: Mapping[str, Any], positive: str, negative: str) -> tuple[Any, bool] | None:
    if positive in raw and negative in raw:
        raise MalformedPolicyError(SYNTAX, f"both {positive} and {negative}")
    if positive in raw:
        return raw[positive], False
    if negative in raw:
        return raw[negative], True
    return None


def _compile_statement(index: int, raw: Any, kind: PolicyKind, substitute: bool) -> CompiledStatement:
    if not isinstance(raw, Mapping):
        raise MalformedPolicyError(SYNTAX, "a statement must be a JSON object")
    for field in raw:
        if field not in STATEMENT_FIELDS:
            raise MalformedPolicyError(f"Unknown field {field}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicyError(SYNTAX, "Sid must be a string")
    if kind is PolicyKind.IDENTITY and sid and not _SID_RE.fullmatch(sid):
        raise MalformedPolicyError(
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies "
            "the regular expression [0-9A-Za-z]*"
        )
    if "Effect" not in raw:
        raise MalformedPolicyError("Missing required field Effect")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyError(f"Invalid effect: {effect}")

    actions = _one_of(raw, "Action", "NotAction")
    if actions is None:
        raise MalformedPolicyError("Policy statement must contain actions.")
    action_values = _strings(actions[0], "Action")
    if not action_values:
        raise MalformedPolicyError("Policy statement must contain actions.")
    action_all, exact, globs = _compile_actions(action_values)

    resources = _one_of(raw, "Resource", "NotResource")
    compiled_resources: tuple[WildcardValue, ...] | None = None
    not_resource = False
    if resources is None:
        if kind is PolicyKind.IDENTITY:
            raise MalformedPolicyError("Policy statement must contain resources.")
    else:
        raw_values = resources[0]
        if isinstance(raw_values, list):  # IAM ignores null entries in a resource list
            raw_values = [v for v in raw_values if v is not None]
        values = _strings(raw_values, "Resource")
        if not values:
            raise MalformedPolicyError("Policy statement must contain resources.")
        for value in values:
            # IAM's finer ARN checks run on write (fleetward.iam.document); any
            # "vendor:..." string is a pattern the evaluator can match.
            if value != "*" and ":" not in value:
                raise MalformedPolicyError(f'Resource {value} must be in ARN format or "*".')
        compiled_resources = tuple(WildcardValue(v, substitute=substitute) for v in values)
        not_resource = resources[1]

    principal = _one_of(raw, "Principal", "NotPrincipal")
    spec: PrincipalSpec | None = None
    if kind is PolicyKind.IDENTITY and principal is not None:
        raise MalformedPolicyError("Policy document should not specify a principal.")
    if kind is PolicyKind.RESOURCE:
        if principal is None:
            raise MalformedPolicyError("Missing required field Principal")
        spec = _compile_principal(principal[0])

    return CompiledStatement(
        index=index,
        sid=sid,
        effect=Effect(effect),
        not_action=actions[1],
        action_all=action_all,
        action_exact=exact,
        action_globs=globs,
        not_resource=not_resource,
        resources=compiled_resources,
        principal=spec,
        not_principal=principal is not None and principal[1],
        conditions=_compile_conditions(raw.get("Condition"), substitute),
    )


def _compile_actions(values: list[str]) -> tuple[bool, frozenset[str], tuple[Matcher, ...]]:
    exact: set[str] = set()
    globs: list[Matcher] = []
    action_all = False
    for value in values:
        if value == "*":
            action_all = True
            continue
        vendor, sep, name = value.partition(":")
        if not sep or not vendor:
            raise MalformedPolicyError(VENDOR)
        if ":" in name:
            raise MalformedPolicyError("Actions/Condition can contain only one colon.")
        if not _VENDOR_RE.fullmatch(vendor):
            raise MalformedPolicyError(f"Vendor {vendor} is not valid")
        lowered = value.lower()
        if has_wildcard(lowered):
            globs.append(compile_glob(lowered))
        else:
            exact.add(lowered)
    return action_all, frozenset(exact), tuple(globs)


def _compile_principal(value: Any) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec.build(True, [], [], [])
    if not isinstance(value, Mapping) or not value:
        raise MalformedPolicyError(SYNTAX, 'Principal must be "*" or an object')
    aws: list[str] = []
    services: list[str] = []
    federated: list[str] = []
    for ptype, pvalue in value.items():
        if ptype not in _PRINCIPAL_TYPES:
            raise MalformedPolicyError(f'Invalid principal in policy: "{ptype}"')
        for item in _strings(pvalue, "Principal"):
            if ptype == "AWS":
                if (
                    item != "*"
                    and not _ACCOUNT_RE.fullmatch(item)
                    and not _UNIQUE_ID_RE.fullmatch(item)
                    and not (item.startswith("arn:") and item.count(":") >= 5)
                ):
                    raise MalformedPolicyError(f'Invalid principal in policy: "AWS":"{item}"')
                aws.append(item)
            elif ptype == "Service":
                if not item:
                    raise MalformedPolicyError('Invalid principal in policy: "Service":""')
                services.append(item)
            elif ptype == "Federated":
                federated.append(item)
    return PrincipalSpec.build(False, aws, services, federated)


def _condition_values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise MalformedPolicyError(SYNTAX, "condition values must be strings or numbers")
    return out


def _compile_conditions(raw: Any, substitute: bool) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise MalformedPolicyError(SYNTAX, "Condition must be an object")
    compiled: list[Condition] = []
    for operator, block in raw.items():
        if not isinstance(block, Mapping):
            raise MalformedPolicyError(SYNTAX, f"condition {operator} must map keys to values")
        # An empty block tests nothing (IAM accepts it, whatever the operator);
        # a key without a vendor prefix is simply never present in a request.
        for key, value in block.items():
            try:
                compiled.append(
                    compile_condition(operator, key, _condition_values(value), substitute=substitute)
                )
            except UnknownOperatorError as exc:
                raise MalformedPolicyError(SYNTAX, f"unknown condition operator {operator}") from exc
            except ValueError as exc:
                raise MalformedPolicyError(SYNTAX, f"invalid value for {operator} {key}: {exc}") from exc
    return tuple(compiled)
