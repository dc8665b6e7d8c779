"""Condition operators, compiled once per policy.

Semantics (IAM User Guide, "IAM JSON policy elements: Condition operators"):

* Several values for one key in the policy are OR'ed; for a negated operator
  (``StringNotEquals``, ``NumericNotEquals``, ``NotIpAddress``, ``ArnNotLike``
  ...) the request value must differ from *all* of them.
* A key absent from the request (or an empty multi-valued key): a positive
  operator is false, a negated operator is true, any ``...IfExists`` operator
  is true, ``ForAllValues:`` is true, ``ForAnyValue:`` is false.
* ``ForAllValues:Op``: every request value satisfies ``Op``;
  ``ForAnyValue:Op``: at least one does. A multi-valued key used without a set
  qualifier behaves as ``ForAnyValue`` for a positive operator and, for a
  negated one, requires that no request value matches any policy value.
* A request value that is not valid for the operator's type (a non-number
  for ``Numeric*``, a bad date, IP or base64 value) never satisfies it, also
  for negated operators.
* ``Null``: ``true`` means the key is absent, ``false`` that it is present.
* Key names are case-insensitive (context keys are lowercased); values are
  case-sensitive except for ``...IgnoreCase`` and ``Bool``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from fleetward.iam.arn import compile_arn_pattern, compile_arn_tokens
from fleetward.iam.document import parse_legacy_date
from fleetward.iam.variables import ContextKeys, Template, parse_template
from fleetward.iam.wildcard import compile_glob, compile_tokens

__all__ = ["Condition", "UnknownOperatorError", "compile_condition"]

Test = Callable[[str, ContextKeys], bool | None]


class UnknownOperatorError(ValueError):
    """The condition operator is not one IAM knows."""


def _numeric(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) or math.isinf(value) else value


def _date(text: str) -> float | None:
    text = text.strip()
    number = _numeric(text) if text[:1].isdigit() and "-" not in text else None
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        # IAM's own leniencies ("2016-12-13t2:00:00+01", "01T", far years).
        return parse_legacy_date(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


_COMPARE: Final[dict[str, Callable[[float, float], bool]]] = {
    "equals": lambda a, b: a == b,
    "lessthan": lambda a, b: a < b,
    "lessthanequals": lambda a, b: a <= b,
    "greaterthan": lambda a, b: a > b,
    "greaterthanequals": lambda a, b: a >= b,
}


def _ordered(parse: Callable[[str], float | None], cmp: str, values: Sequence[str]) -> Test:
    bounds: list[float] = []
    for raw in values:
        parsed = parse(raw)
        if parsed is None:
            raise ValueError(f"invalid value {raw!r}")
        bounds.append(parsed)
    compare = _COMPARE[cmp]

    def test(value: str, keys: ContextKeys) -> bool | None:
        got = parse(value)
        if got is None:
            return None
        return any(compare(got, b) for b in bounds)

    return test


def _split_templates(values: Sequence[str], substitute: bool) -> tuple[list[str], list[Template]]:
    static: list[str] = []
    templates: list[Template] = []
    for raw in values:
        template = parse_template(raw) if substitute else None
        if template is None:
            static.append(raw)
        else:
            templates.append(template)
    return static, templates


def _string_equals(values: Sequence[str], substitute: bool, fold: bool) -> Test:
    static, templates = _split_templates(values, substitute)
    norm: Callable[[str], str] = str.casefold if fold else str
    exact = frozenset(norm(v) for v in static)
    if not templates:
        return lambda value, keys: norm(value) in exact

    def test(value: str, keys: ContextKeys) -> bool | None:
        value = norm(value)
        if value in exact:
            return True
        for template in templates:
            resolved = template.resolve(keys)
            if resolved is not None and norm(resolved) == value:
                return True
        return False

    return test


def _like(values: Sequence[str], substitute: bool, arn: bool) -> Test:
    static, templates = _split_templates(values, substitute)
    matchers = tuple((compile_arn_pattern if arn else compile_glob)(v) for v in static)
    compile_dynamic = compile_arn_tokens if arn else compile_tokens

    def test(value: str, keys: ContextKeys) -> bool | None:
        for m in matchers:
            if m(value):
                return True
        for template in templates:
            tokens = template.resolve_tokens(keys)
            if tokens is not None and compile_dynamic(tokens)(value):
                return True
        return False

    return test


def _ip_test(values: Sequence[str]) -> Test:
    nets: list[_Net] = [ipaddress.ip_network(v.strip(), strict=False) for v in values]

    def test(value: str, keys: ContextKeys) -> bool | None:
        addr = _ip(value)
        if addr is None:
            return None
        return any(addr in net for net in nets)

    return test


def _binary_test(values: Sequence[str]) -> Test:
    wanted: set[bytes] = set()
    for raw in values:
        decoded = _binary(raw)
        if decoded is None:
            raise ValueError(f"invalid base64 value {raw!r}")
        wanted.add(decoded)

    def test(value: str, keys: ContextKeys) -> bool | None:
        got = _binary(value)
        return None if got is None else got in wanted

    return test


def _bool_test(values: Sequence[str]) -> Test:
    wanted = frozenset(v.lower() for v in values)
    return lambda value, keys: value.lower() in wanted


# operator base name (lowercase) -> (negated, builder(values, substitute) -> Test)
_Builder = Callable[[Sequence[str], bool], Test]
_OPERATORS: Final[dict[str, tuple[bool, _Builder]]] = {
    "stringequals": (False, lambda v, s: _string_equals(v, s, False)),
    "stringnotequals": (True, lambda v, s: _string_equals(v, s, False)),
    "stringequalsignorecase": (False, lambda v, s: _string_equals(v, s, True)),
    "stringnotequalsignorecase": (True, lambda v, s: _string_equals(v, s, True)),
    "stringlike": (False, lambda v, s: _like(v, s, False)),
    "stringnotlike": (True, lambda v, s: _like(v, s, False)),
    "arnequals": (False, lambda v, s: _like(v, s, True)),
    "arnlike": (False, lambda v, s: _like(v, s, True)),
    "arnnotequals": (True, lambda v, s: _like(v, s, True)),
    "arnnotlike": (True, lambda v, s: _like(v, s, True)),
    "numericnotequals": (True, lambda v, s: _ordered(_numeric, "equals", v)),
    "datenotequals": (True, lambda v, s: _ordered(_date, "equals", v)),
    "bool": (False, lambda v, s: _bool_test(v)),
    "binaryequals": (False, lambda v, s: _binary_test(v)),
    "ipaddress": (False, lambda v, s: _ip_test(v)),
    "notipaddress": (True, lambda v, s: _ip_test(v)),
}


def _ordered_builder(parse: Callable[[str], float | None], cmp: str) -> _Builder:
    return lambda values, substitute: _ordered(parse, cmp, values)


for _cmp in _COMPARE:
    _OPERATORS["numeric" + _cmp] = (False, _ordered_builder(_numeric, _cmp))
    _OPERATORS["date" + _cmp] = (False, _ordered_builder(_date, _cmp))

_SET_QUALIFIERS: Final = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}
_ALL, _ANY = "ForAllValues", "ForAnyValue"


class Condition:
    """One ``operator: {key: values}`` entry; :meth:`evaluate` is the whole contract."""

    __slots__ = (
        "if_exists",
        "key",
        "key_name",
        "negated",
        "null_wants",
        "operator",
        "qualifier",
        "referenced_variables",
        "test",
    )

    def __init__(self, operator: str, key: str, values: Sequence[str], substitute: bool) -> None:
        self.operator = operator
        self.key = key.lower()
        self.key_name = key
        templates = [parse_template(v) for v in values] if substitute else []
        self.referenced_variables = tuple(k for t in templates if t is not None for k in t.keys)
        qualifier, sep, base = operator.partition(":")
        if not sep:
            qualifier, base = "", operator
        elif qualifier.lower() not in _SET_QUALIFIERS:
            raise UnknownOperatorError(operator)
        self.qualifier: str | None = _SET_QUALIFIERS.get(qualifier.lower())
        base = base.lower()
        self.if_exists = base.endswith("ifexists") and base != "ifexists"
        if self.if_exists:
            base = base[: -len("ifexists")]
        self.null_wants: frozenset[bool] | None = None
        if base == "null" and not self.if_exists:
            self.null_wants = frozenset(v.lower() == "true" for v in values)
            self.negated = False
            self.test: Test = lambda value, keys: None
            return
        spec = _OPERATORS.get(base)
        if spec is None:
            raise UnknownOperatorError(operator)
        self.negated, build = spec
        self.test = build(values, substitute)

    def evaluate(self, keys: ContextKeys) -> bool:
        """Whether the condition holds for a request with these (lowercased) context keys."""
        raw = keys.get(self.key)
        if self.null_wants is not None:
            present = raw is not None and (isinstance(raw, str) or len(raw) > 0)
            return (not present) in self.null_wants
        if raw is None or (not isinstance(raw, str) and not raw):
            if self.if_exists or self.qualifier == _ALL:
                return True
            if self.qualifier == _ANY:
                return False
            return self.negated
        test, negated = self.test, self.negated
        if isinstance(raw, str):
            result = test(raw, keys)
            return result is not None and result != negated
        outcomes = [test(v, keys) for v in raw]
        if self.qualifier == _ALL:
            return all(r is not None and r != negated for r in outcomes)
        if self.qualifier == _ANY or not negated:
            return any(r is not None and r != negated for r in outcomes)
        return all(r is False for r in outcomes)


def compile_condition(operator: str, key: str, values: Sequence[str], *, substitute: bool) -> Condition:
    """Compile one condition.

    Raises :class:`UnknownOperatorError` for an unknown operator and
    ``ValueError`` for a policy value invalid for the operator's type.
    """
    return Condition(operator, key, values, substitute)
