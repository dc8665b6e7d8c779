"""Hypothesis strategies for valid values of botocore shapes.

``value_for(shape)`` walks a botocore shape and yields values the model
accepts: required members always present, ``min``/``max`` on lengths,
ranges and collection sizes respected, enums sampled, patterns generated
with ``from_regex`` when Python's ``re`` reads them (else a known-valid
sample, else the optional member is left out). Strings without a pattern
mix printable ASCII, tab/LF/CR and non-ASCII characters, timestamps aware UTC datetimes with whole seconds, blobs bytes.

``full_value_for(shape, variant)`` yields values holding every member at
every depth, so a handful of them exercise every shape an operation can
carry (``member_slots`` lists those, ``slots_in`` what a value holds).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import strategies as st

from fleetward.server.app import SERVICES

MAX_DEPTH = 4
# Also whitespace controls (an XML parser turns a raw CR into LF) and non-ASCII.
_PRINTABLE = (
    string.ascii_letters + string.digits + " -_./:@+=,*?!#$%&()[]{}<>|~^'\"\\;" + "\t\n\r\u00a0é✓中😀"
)
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
    s = _value(shape, depth, _Mode(nonempty, body_only))
    if s is None:
        raise Unsatisfiable(shape.name)
    return s


def full_value_for(
    shape: Shape, variant: int = 0, *, nonempty: bool = False, body_only: bool = False
) -> st.SearchStrategy[Any]:
    """Valid values of ``shape`` holding every member, at every depth.

    Optional members are always present and collections have at least one
    element, so one value exercises every member of every nested shape; a
    recursive shape is nested once in itself, below that its recursive
    member is an empty list or left out. A union holds its ``variant``-th member (modulo its size): the
    values for ``range(union_width(shape))`` cover every union member.
    """
    s = _value(shape, 0, _Mode(nonempty, body_only, full=True, variant=variant))
    if s is None:
        raise Unsatisfiable(shape.name)
    return s


def union_width(shape: Shape) -> int:
    """The number of members of the widest union reachable from ``shape`` (1 if none)."""
    widest = 1
    for struct in _structures(shape):
        if struct.metadata.get("union"):
            widest = max(widest, len(struct.members))  # type: ignore[attr-defined]
    return widest


def member_slots(shape: Shape, *, body_only: bool = False) -> set[tuple[str, str]]:
    """Every (structure, member) reachable from ``shape`` that a value can hold."""
    return {
        (struct.name, name)
        for struct in _structures(shape)
        for name, ms in struct.members.items()  # type: ignore[attr-defined]
        if not _skip_member(ms, body_only)
    }


def slots_in(shape: Shape, value: Any, out: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """The (structure, member) pairs present in ``value``, a value of ``shape``."""
    out = set() if out is None else out
    t = shape.type_name
    if t == "structure":
        for name, v in value.items():
            out.add((shape.name, name))
            slots_in(shape.members[name], v, out)  # type: ignore[attr-defined]
    elif t == "list":
        for v in value:
            slots_in(shape.member, v, out)  # type: ignore[attr-defined]
    elif t == "map":
        for v in value.values():
            slots_in(shape.value, v, out)  # type: ignore[attr-defined]
    return out


def _structures(shape: Shape) -> list[Shape]:
    """Every structure shape reachable from ``shape`` (each once)."""
    seen: dict[str, Shape] = {}
    todo = [shape]
    while todo:
        s = todo.pop()
        t = s.type_name
        if t == "structure":
            if s.name in seen:
                continue
            seen[s.name] = s
            todo.extend(s.members.values())  # type: ignore[attr-defined]
        elif t == "list":
            todo.append(s.member)  # type: ignore[attr-defined]
        elif t == "map":
            todo.extend((s.key, s.value))  # type: ignore[attr-defined]
    return list(seen.values())


@dataclass(frozen=True, slots=True)
class _Mode:
    nonempty: bool
    body_only: bool
    full: bool = False
    variant: int = 0
    # full mode: the structures being built, to stop a recursive shape
    path: tuple[str, ...] = ()


def _value(shape: Shape, depth: int, mode: _Mode) -> st.SearchStrategy[Any] | None:
    t = shape.type_name
    if t == "structure":
        return _structure(shape, depth, mode)
    if t == "list":
        item = _value(shape.member, depth + 1, mode)  # type: ignore[attr-defined]
        lo = int(shape.metadata.get("min", 0))
        if item is None:
            return st.just([]) if lo == 0 else None
        hi = int(shape.metadata.get("max", lo + 3))
        if mode.full:
            lo = max(lo, 1)
        hi = lo if depth >= MAX_DEPTH and not mode.full else min(hi, lo + 3)
        return st.lists(item, min_size=lo, max_size=hi)
    if t == "map":
        key = _value(shape.key, depth + 1, mode)  # type: ignore[attr-defined]
        val = _value(shape.value, depth + 1, mode)  # type: ignore[attr-defined]
        lo = int(shape.metadata.get("min", 0))
        if (mode.nonempty and depth > 0) or mode.full:
            lo = max(lo, 1)
        if key is None or val is None:
            return st.just({}) if lo == 0 else None
        hi = int(shape.metadata.get("max", lo + 3))
        hi = lo if depth >= MAX_DEPTH and not mode.full else min(hi, lo + 3)
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
        if mode.full:
            lo = max(lo, min(hi, 1))
        return st.binary(min_size=lo, max_size=min(hi, lo + 16))
    if t == "timestamp":
        return _TIMESTAMPS
    return None


def _structure(shape: Shape, depth: int, mode: _Mode) -> st.SearchStrategy[Any] | None:
    members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
    required = set(shape.required_members)  # type: ignore[attr-defined]
    if mode.full:
        if mode.path.count(shape.name) >= 2:
            return None  # nested once in itself already: its recursive members are exercised
        mode = replace(mode, path=(*mode.path, shape.name))
    req: dict[str, st.SearchStrategy[Any]] = {}
    opt: dict[str, st.SearchStrategy[Any]] = {}
    for name, ms in members.items():
        if _skip_member(ms, mode.body_only):
            continue
        if name not in required and depth >= MAX_DEPTH and not mode.full:
            continue
        s = _value(ms, depth + 1, mode)
        if s is None:
            if name in required:
                return None
            continue
        (req if name in required or mode.full else opt)[name] = s
    if shape.metadata.get("union"):
        if mode.full:
            # Union members are all "present" above; keep the variant's one.
            names = sorted(req)
            if not names:
                return None
            pick = names[mode.variant % len(names)]
            return st.fixed_dictionaries({pick: req[pick]})
        choices = [st.fixed_dictionaries({k: v}) for k, v in opt.items()]
        return st.one_of(choices) if choices else None
    out = st.fixed_dictionaries(req, optional=opt)
    if mode.nonempty and depth > 0 and not req:
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
