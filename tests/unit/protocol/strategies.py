"""Hypothesis strategies for valid values of botocore shapes.

``value_for(shape)`` walks a botocore shape and yields values the model
accepts: required members always present, ``min``/``max`` on lengths,
ranges and collection sizes respected, enums sampled, patterns generated
with ``from_regex`` when Python's ``re`` reads them (else a known-valid
sample, else the optional member is left out). Strings are short printable
ASCII, timestamps aware UTC datetimes with whole seconds, blobs bytes.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import strategies as st

from fleetward.server.app import SERVICES

MAX_DEPTH = 4
_PRINTABLE = string.ascii_letters + string.digits + " -_./:@+=,*?!#$%&()[]{}<>|~^'\"\\;"
_ALPHABET = st.sampled_from(_PRINTABLE)
_REGEX_ALPHABET = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


class Unsatisfiable(Exception):
    """No valid value is known for a required member."""


@cache
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def operations(services: tuple[str, ...] = SERVICES) -> list[tuple[str, str]]:
    return [(s, op) for s in services for op in service_model(s).operation_names]


def operation_model(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


def python_pattern(pattern: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern as a Python regex, when Python can read it."""
    for candidate in (pattern, re.sub(r"(\\[wdsWDS])-", r"\1\\-", pattern)):
        try:
            return re.compile(candidate)
        except re.error:
            continue
    return None


_SAMPLES = (
    "a",
    "abc",
    "abcdefgh",
    "A1",
    "1",
    "123456789012",
    "arn:aws:iam::123456789012:role/a",
    "/a",
)


def _sample_for(shape: Shape, rx: Any = None) -> str | None:
    """A known-valid value for ``shape``'s pattern (checked by ``rx``, else by our validator)."""
    if rx is None:
        from fleetward.protocol.validate import _compile_pattern

        rx = _compile_pattern(shape.metadata["pattern"])
    lo = int(shape.metadata.get("min", 0))
    hi = int(shape.metadata.get("max", 1 << 30))
    n = max(lo, 1)
    candidates = [*_SAMPLES, *(c * n for c in "aA1-_./:0f")]
    for s in candidates:
        if lo <= len(s) <= hi and (rx is None or rx.fullmatch(s)):
            return s
    return None


def _string(shape: Shape) -> st.SearchStrategy[str] | None:
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    m = shape.metadata
    lo = int(m.get("min", 0))
    hi = int(m.get("max", 1 << 30))
    hi_gen = min(hi, lo + 12)
    pattern = m.get("pattern")
    if pattern:
        rx = python_pattern(pattern)
        if rx is not None and "\\p" not in pattern:
            try:
                base = st.from_regex(rx, fullmatch=True, alphabet=_REGEX_ALPHABET)
            except Exception:  # hypothesis cannot generate from it
                base = None
            if base is not None:
                fallback = _sample_for(shape, rx)
                if fallback is None:
                    return base.filter(lambda s: lo <= len(s) <= hi)
                return base.map(lambda s: s if lo <= len(s) <= hi else fallback)
        sample = _sample_for(shape)
        return None if sample is None else st.just(sample)
    return st.text(_ALPHABET, min_size=lo, max_size=hi_gen)


def _number(shape: Shape) -> st.SearchStrategy[Any]:
    m = shape.metadata
    if shape.type_name in ("integer", "long"):
        lo = int(m.get("min", -(2**31)))
        hi = int(m.get("max", 2**31 - 1))
        return st.integers(lo, hi)
    lo_f = float(m.get("min", -1e9))
    hi_f = float(m.get("max", 1e9))
    return st.floats(lo_f, hi_f, allow_nan=False, allow_infinity=False)


_TIMESTAMPS = st.datetimes(
    min_value=datetime(2001, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))


def _skip_member(ms: Shape, body_only: bool) -> bool:
    if ms.serialization.get("eventstream") or ms.metadata.get("eventstream"):
        return True
    if ms.type_name == "blob" and ms.serialization.get("streaming"):
        return True
    return body_only and bool(ms.serialization.get("location"))


def value_for(
    shape: Shape, depth: int = 0, *, nonempty: bool = False, body_only: bool = False
) -> st.SearchStrategy[Any]:
    """Valid values of ``shape``; raises Unsatisfiable for an impossible required member.

    ``nonempty``: structures and maps below the top are never empty (the
    Query protocol cannot tell an empty structure from an absent one).
    ``body_only``: leave out members bound to headers, URI or query string.
    """
    s = _value(shape, depth, nonempty, body_only)
    if s is None:
        raise Unsatisfiable(shape.name)
    return s


def _value(shape: Shape, depth: int, nonempty: bool, body_only: bool) -> st.SearchStrategy[Any] | None:
    t = shape.type_name
    if t == "structure":
        return _structure(shape, depth, nonempty, body_only)
    if t == "list":
        item = _value(shape.member, depth + 1, nonempty, body_only)  # type: ignore[attr-defined]
        lo = int(shape.metadata.get("min", 0))
        if item is None:
            return st.just([]) if lo == 0 else None
        hi = int(shape.metadata.get("max", lo + 3))
        hi = lo if depth >= MAX_DEPTH else min(hi, lo + 3)
        return st.lists(item, min_size=lo, max_size=hi)
    if t == "map":
        key = _value(shape.key, depth + 1, nonempty, body_only)  # type: ignore[attr-defined]
        val = _value(shape.value, depth + 1, nonempty, body_only)  # type: ignore[attr-defined]
        lo = int(shape.metadata.get("min", 0))
        if nonempty and depth > 0:
            lo = max(lo, 1)
        if key is None or val is None:
            return st.just({}) if lo == 0 else None
        hi = int(shape.metadata.get("max", lo + 3))
        hi = lo if depth >= MAX_DEPTH else min(hi, lo + 3)
        return st.dictionaries(key, val, min_size=lo, max_size=hi)
    if t == "string":
        return _string(shape)
    if t in ("integer", "long", "float", "double"):
        return _number(shape)
    if t == "boolean":
        return st.booleans()
    if t == "blob":
        lo = int(shape.metadata.get("min", 0))
        hi = int(shape.metadata.get("max", lo + 16))
        return st.binary(min_size=lo, max_size=min(hi, lo + 16))
    if t == "timestamp":
        return _TIMESTAMPS
    return None


def _structure(shape: Shape, depth: int, nonempty: bool, body_only: bool) -> st.SearchStrategy[Any] | None:
    members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
    required = set(shape.required_members)  # type: ignore[attr-defined]
    req: dict[str, st.SearchStrategy[Any]] = {}
    opt: dict[str, st.SearchStrategy[Any]] = {}
    for name, ms in members.items():
        if _skip_member(ms, body_only):
            continue
        if name not in required and depth >= MAX_DEPTH:
            continue
        s = _value(ms, depth + 1, nonempty, body_only)
        if s is None:
            if name in required:
                return None
            continue
        (req if name in required else opt)[name] = s
    if shape.metadata.get("union"):
        choices = [st.fixed_dictionaries({k: v}) for k, v in opt.items()]
        return st.one_of(choices) if choices else None
    out = st.fixed_dictionaries(req, optional=opt)
    if nonempty and depth > 0 and not req:
        if not opt:
            return None
        out = out.filter(bool)
    return out


def to_wire_equal(value: Any) -> Any:
    """Normalise a value for comparison (tuples to lists, naive nothing)."""
    if isinstance(value, dict):
        return {k: to_wire_equal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire_equal(v) for v in value]
    return value
