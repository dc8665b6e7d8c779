"""Per-statement results for the policy simulator (IAM ``Simulate*Policy``).

:func:`simulate_policy` evaluates one policy alone and reports its
``EvalDecision``, the statements that matched (with their line/column span
in the original document text) and ``MissingContextValues``: condition keys
(and policy-variable keys) referenced by statements that apply to the
action, resource and principal but that the request context lacks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum

from fleetward.iam.context import RequestContext
from fleetward.iam.policy import CompiledPolicy
from fleetward.iam.statement import CompiledStatement, Effect

__all__ = [
    "EvalDecision",
    "PolicyResult",
    "Position",
    "StatementResult",
    "simulate_policy",
    "statement_results",
    "statement_spans",
]


class EvalDecision(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column, as IAM's ``StartPosition``/``EndPosition``."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class StatementResult:
    index: int
    sid: str | None
    effect: Effect
    matched: bool
    start: Position | None
    end: Position | None
    missing_context_values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicyResult:
    policy_name: str
    decision: EvalDecision
    matched_statements: tuple[StatementResult, ...]
    missing_context_values: tuple[str, ...]


def statement_spans(text: str) -> list[tuple[Position, Position]]:
    """Spans of the statements of a JSON policy text (empty if not found).

    The end position is that of the statement's closing brace.
    """
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def position(offset: int) -> Position:
        line = bisect.bisect_right(line_starts, offset)
        return Position(line, offset - line_starts[line - 1] + 1)

    spans: list[tuple[Position, Position]] = []
    depth = 0
    in_statement_at: int | None = None  # depth of the Statement value's container
    last_string = ""
    key = ""
    start = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            last_string = text[i + 1 : j]
            i = j + 1
            continue
        if ch == ":" and depth == 1:
            key = last_string
        elif ch in "{[":
            if depth == 1 and key == "Statement" and in_statement_at is None:
                in_statement_at = depth + 1 if ch == "[" else depth
            depth += 1
            if ch == "{" and in_statement_at is not None and depth == in_statement_at + 1:
                start = i
        elif ch in "}]":
            if ch == "}" and in_statement_at is not None and depth == in_statement_at + 1:
                spans.append((position(start), position(i)))
            depth -= 1
            if in_statement_at is not None and depth <= 1:
                break
        i += 1
    return spans


def _applies(ctx: RequestContext, statement: CompiledStatement, action: str) -> bool:
    return (
        statement.matches_action(action)
        and statement.matches_resource(ctx.resource, ctx.keys)
        and bool(statement.match_principal(ctx))
    )


def statement_results(ctx: RequestContext, policy: CompiledPolicy) -> list[StatementResult]:
    """One result per statement, in document order."""
    action = ctx.action.lower()
    spans = statement_spans(policy.document)
    if len(spans) != len(policy.statements):
        spans = []
    results: list[StatementResult] = []
    for statement in policy.statements:
        applies = _applies(ctx, statement, action)
        missing = (
            tuple(sorted(k for k in statement.condition_keys if k.lower() not in ctx.keys)) if applies else ()
        )
        span = spans[statement.index] if spans else None
        results.append(
            StatementResult(
                index=statement.index,
                sid=statement.sid,
                effect=statement.effect,
                matched=applies and statement.conditions_hold(ctx.keys),
                start=span[0] if span else None,
                end=span[1] if span else None,
                missing_context_values=missing,
            )
        )
    return results


def simulate_policy(ctx: RequestContext, policy: CompiledPolicy) -> PolicyResult:
    """Evaluate one policy alone: Deny wins, then Allow, else implicitDeny."""
    results = statement_results(ctx, policy)
    matched = tuple(r for r in results if r.matched)
    if any(r.effect is Effect.DENY for r in matched):
        decision = EvalDecision.EXPLICIT_DENY
        matched = tuple(r for r in matched if r.effect is Effect.DENY)
    elif matched:
        decision = EvalDecision.ALLOWED
    else:
        decision = EvalDecision.IMPLICIT_DENY
    missing = sorted({k for r in results for k in r.missing_context_values})
    return PolicyResult(policy.name, decision, matched, tuple(missing))
