"""Input conversion and validation against botocore shapes.

One walk per request converts wire values to Python values (base64 blobs to
bytes, timestamps to aware datetimes) and checks every constraint the model
states: required members, types, ``min``/``max`` on lengths, ranges and
collection sizes, ``pattern`` and ``enum``. Readers are compiled once per
shape. Type mismatches raise ``SerializationException`` at once (as AWS does);
constraint failures are collected and raised together as AWS's
``ValidationException`` ("2 validation errors detected: ...").
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import re2
from botocore.model import Shape

from fleetward.protocol.errors import SerializationException, ValidationException
from fleetward.protocol.model import shape_key

__all__ = ["Reader", "raise_if_invalid", "reader_for", "render_value", "wire_name"]

# A reader converts one wire value at ``path``, appending constraint failures
# to ``errors`` and returning the converted value.
Reader = Callable[[Any, str, list[str]], Any]

# shape_key -> (shape kept alive, reader)
_cache: dict[tuple[Any, ...], tuple[Shape, Reader]] = {}


def wire_name(member: str) -> str:
    """AWS's name for a member in validation messages: lower camel case."""
    return member[:1].lower() + member[1:]


def render_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _fail(errors: list[str], shape: Shape, value: Any, path: str, rule: str) -> None:
    # Sensitive members are never echoed; nor are blobs, which AWS's
    # messages show without a value ("Value at 'signature' failed ...").
    if shape.type_name == "blob" or shape.serialization.get("sensitive") or shape.metadata.get("sensitive"):
        errors.append(f"Value at '{path}' failed to satisfy constraint: {rule}")
    else:
        errors.append(f"Value '{render_value(value)}' at '{path}' failed to satisfy constraint: {rule}")


def raise_if_invalid(errors: list[str]) -> None:
    """Raise AWS's ValidationException for collected failures, if any."""
    if not errors:
        return
    n = len(errors)
    head = f"{n} validation error{'s' if n > 1 else ''} detected: "
    raise ValidationException(head + "; ".join(errors))


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def _compile_pattern(pattern: str) -> Any:
    # Model patterns are AWS's Java regexes. RE2 reads the Unicode classes
    # (\p{L}) Python's re lacks; Java's literal '-' after a class escape
    # ([\w-_]) needs escaping for both. Surrogate ranges (CloudTrail) are
    # not expressible on str and are left unchecked.
    for candidate in (pattern, re.sub(r"(\\[wdsWDS])-", r"\1\\-", pattern)):
        try:
            return re2.compile(candidate, _RE2_OPTIONS)
        except re2.error:
            pass
        try:
            return re.compile(candidate)
        except re.error:
            pass
    return None


def reader_for(shape: Shape) -> Reader:
    """The compiled reader of ``shape`` (cached per shape, see ``shape_key``)."""
    key = shape_key(shape)
    hit = _cache.get(key)
    if hit is not None:
        return hit[1]
    holder: list[Reader] = []
    # Recursive shapes: register a trampoline before compiling children.
    _cache[key] = (shape, lambda v, p, e: holder[0](v, p, e))
    try:
        r = _compile(shape)
    except BaseException:
        del _cache[key]
        raise
    holder.append(r)
    _cache[key] = (shape, r)
    return r


def _type_error(shape: Shape, value: Any, path: str) -> SerializationException:
    return SerializationException(
        f"Unexpected value type for '{path}': expected {shape.type_name}, got {type(value).__name__}"
    )


def _compile(shape: Shape) -> Reader:
    t = shape.type_name
    if t == "structure":
        return _compile_structure(shape)
    if t == "list":
        return _compile_list(shape)
    if t == "map":
        return _compile_map(shape)
    if t == "string":
        return _compile_string(shape)
    if t in ("integer", "long", "float", "double"):
        return _compile_number(shape)
    if t == "boolean":

        def read_bool(v: Any, p: str, e: list[str]) -> Any:
            if not isinstance(v, bool):
                raise _type_error(shape, v, p)
            return v

        return read_bool
    if t == "blob":

        def read_blob(v: Any, p: str, e: list[str]) -> Any:
            if isinstance(v, bytes):
                data = v
            elif isinstance(v, str):
                try:
                    data = base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError):
                    raise SerializationException(f"Invalid base64: '{p}'") from None
            else:
                raise _type_error(shape, v, p)
            _check_len(shape, data, len(data), p, e)
            return data

        return read_blob
    if t == "timestamp":

        def read_ts(v: Any, p: str, e: list[str]) -> Any:
            if isinstance(v, datetime):
                return v if v.tzinfo else v.replace(tzinfo=UTC)
            if isinstance(v, bool):
                raise _type_error(shape, v, p)
            if isinstance(v, int | float):
                return datetime.fromtimestamp(v, UTC)
            if isinstance(v, str):
                try:
                    return datetime.fromtimestamp(float(v), UTC)
                except ValueError:
                    pass
                try:
                    d = datetime.fromisoformat(v.replace("Z", "+00:00"))
                except ValueError:
                    raise SerializationException(f"Invalid timestamp at '{p}'") from None
                return d if d.tzinfo else d.replace(tzinfo=UTC)
            raise _type_error(shape, v, p)

        return read_ts
    return lambda v, p, e: v


def _check_len(shape: Shape, value: Any, n: int, p: str, e: list[str]) -> None:
    m = shape.metadata
    lo = m.get("min")
    hi = m.get("max")
    if lo is not None and n < lo:
        _fail(e, shape, value, p, f"Member must have length greater than or equal to {lo}")
    if hi is not None and n > hi:
        _fail(e, shape, value, p, f"Member must have length less than or equal to {hi}")


def _compile_string(shape: Shape) -> Reader:
    m = shape.metadata
    enum: list[str] = list(shape.enum or ())
    enum_set = frozenset(enum) if enum else None
    pattern = m.get("pattern")
    rx = _compile_pattern(pattern) if pattern else None
    lo = m.get("min")
    hi = m.get("max")

    def read_string(v: Any, p: str, e: list[str]) -> Any:
        if not isinstance(v, str):
            raise _type_error(shape, v, p)
        n = len(v)
        if lo is not None and n < lo:
            _fail(e, shape, v, p, f"Member must have length greater than or equal to {lo}")
        if hi is not None and n > hi:
            _fail(e, shape, v, p, f"Member must have length less than or equal to {hi}")
        if rx is not None and rx.fullmatch(v) is None:
            _fail(e, shape, v, p, f"Member must satisfy regular expression pattern: {pattern}")
        if enum_set is not None and v not in enum_set:
            _fail(e, shape, v, p, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return v

    return read_string


def _compile_number(shape: Shape) -> Reader:
    m = shape.metadata
    lo = m.get("min")
    hi = m.get("max")
    integral = shape.type_name in ("integer", "long")
    bound = 2**31 if shape.type_name == "integer" else 2**63  # Java's int and long, as AWS reads them

    def read_number(v: Any, p: str, e: list[str]) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float):
            if isinstance(v, str):
                try:
                    v = int(v) if integral else float(v)
                except ValueError:
                    raise _type_error(shape, v, p) from None
            else:
                raise _type_error(shape, v, p)
        if integral and isinstance(v, float):
            if not v.is_integer():
                raise _type_error(shape, v, p)
            v = int(v)
        if integral and not -bound <= v < bound:
            raise SerializationException(f"Unexpected value for '{p}': {v} does not fit a {shape.type_name}")
        if lo is not None and v < lo:
            _fail(e, shape, v, p, f"Member must have value greater than or equal to {lo}")
        if hi is not None and v > hi:
            _fail(e, shape, v, p, f"Member must have value less than or equal to {hi}")
        return v

    return read_number


_SCALARS = frozenset({"string", "integer", "long", "float", "double", "blob"})


def member_constraints(shape: Shape) -> str | None:
    """AWS's summary of a scalar member's constraints, as it reports a bad
    element of a list or map: ``[Member must have length less than or equal
    to 100, Member must have length greater than or equal to 1]`` (maximum
    first, then minimum, pattern, enum). None for a shape without any."""
    if shape.type_name not in _SCALARS:
        return None
    m = shape.metadata
    what = "value" if shape.type_name in ("integer", "long", "float", "double") else "length"
    rules = []
    if m.get("max") is not None:
        rules.append(f"Member must have {what} less than or equal to {m['max']}")
    if m.get("min") is not None:
        rules.append(f"Member must have {what} greater than or equal to {m['min']}")
    if m.get("pattern"):
        rules.append(f"Member must satisfy regular expression pattern: {m['pattern']}")
    if shape.type_name == "string" and shape.enum:
        rules.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    return "[" + ", ".join(rules) + "]" if rules else None


def _compile_list(shape: Shape) -> Reader:
    item = reader_for(shape.member)
    # A scalar element that fails is reported once, on the whole list, with
    # every rule of the element shape (as AWS does); a structure element's
    # failures keep their own paths (``filters.1.member.key``).
    summary = member_constraints(shape.member)

    def read_list(v: Any, p: str, e: list[str]) -> Any:
        if not isinstance(v, list):
            raise _type_error(shape, v, p)
        _check_len(shape, v, len(v), p, e)
        if summary is None:
            return [item(x, f"{p}.{i}.member", e) for i, x in enumerate(v, 1)]
        mine: list[str] = []
        out = [item(x, f"{p}.{i}.member", mine) for i, x in enumerate(v, 1)]
        if mine:
            _fail(e, shape.member, v, p, f"Member must satisfy constraint: {summary}")
        return out

    return read_list


def _compile_map(shape: Shape) -> Reader:
    key_r = reader_for(shape.key)
    val_r = reader_for(shape.value)
    key_summary = member_constraints(shape.key)
    val_summary = member_constraints(shape.value)

    def read_map(v: Any, p: str, e: list[str]) -> Any:
        if not isinstance(v, dict):
            raise _type_error(shape, v, p)
        _check_len(shape, v, len(v), p, e)
        out = {}
        bad_keys: list[str] = []
        bad_values: list[str] = []
        for k, x in v.items():
            key = key_r(k, f"{p}.key", bad_keys if key_summary else e)
            out[key] = val_r(x, f"{p}.{k}.member", bad_values if val_summary else e)
        if bad_keys:
            _fail(e, shape.key, v, p, f"Map keys must satisfy constraint: {key_summary}")
        if bad_values:
            _fail(e, shape.value, v, p, f"Map value must satisfy constraint: {val_summary}")
        return out

    return read_map


def _compile_structure(shape: Shape) -> Reader:
    members = shape.members
    required = tuple(shape.required_members)
    readers = {name: (reader_for(ms), wire_name(name)) for name, ms in members.items()}

    def read_structure(v: Any, p: str, e: list[str]) -> Any:
        if not isinstance(v, dict):
            raise _type_error(shape, v, p)
        out: dict[str, Any] = {}
        prefix = f"{p}." if p else ""
        for name, value in v.items():
            rd = readers.get(name)
            if rd is None or value is None:
                continue  # AWS ignores members it does not know
            out[name] = rd[0](value, prefix + rd[1], e)
        for name in required:
            if out.get(name) is None:
                e.append(
                    f"Value null at '{prefix}{wire_name(name)}' failed to satisfy constraint: Member must not be null"
                )
        return out

    return read_structure
