"""Redaction of members botocore marks ``sensitive``.

Logs and the audit trail never hold a secret: every value whose shape (or
the member that references it) is sensitive becomes ``HIDDEN``.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape

from fleetward.protocol.model import shape_key

__all__ = ["HIDDEN", "has_sensitive", "redact"]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

# shape_key -> (shape kept alive, answer)
_has: dict[tuple[Any, ...], tuple[Shape, bool]] = {}


def _sensitive(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive") or shape.serialization.get("sensitive"))


def has_sensitive(shape: Shape) -> bool:
    """Whether any value under ``shape`` is sensitive (cached per shape).

    Walks every shape reachable from ``shape`` once; only the answer for
    ``shape`` itself is cached, since a partial answer computed inside a
    recursive shape would be wrong.
    """
    key = shape_key(shape)
    hit = _has.get(key)
    if hit is not None:
        return hit[1]
    seen: set[tuple[Any, ...]] = set()
    stack = [shape]
    r = False
    while stack and not r:
        s = stack.pop()
        k = shape_key(s)
        if k in seen:
            continue
        seen.add(k)
        known = _has.get(k)
        if known is not None:
            r = known[1]
            continue
        t = s.type_name
        if _sensitive(s):
            r = True
        elif t == "structure":
            stack.extend(s.members.values())
        elif t == "list":
            stack.append(s.member)
        elif t == "map":
            stack.extend((s.key, s.value))
    _has[key] = (shape, r)
    return r


def redact(shape: Shape | None, value: Any, extra: frozenset[str] = frozenset()) -> Any:
    """A copy of ``value`` with sensitive members replaced by HIDDEN.

    ``extra`` names further member names to hide (e.g. ``TokenValue``,
    ``SecretAccessKey``) wherever they appear.
    """
    if shape is None or value is None:
        return value
    if _sensitive(shape):
        return HIDDEN
    if not extra and not has_sensitive(shape):
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        members = shape.members
        out = {}
        for k, v in value.items():
            if k in extra:
                out[k] = HIDDEN
            elif k in members:
                out[k] = redact(members[k], v, extra)
            else:
                out[k] = v
        return out
    if t == "list" and isinstance(value, list):
        return [redact(shape.member, v, extra) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: redact(shape.value, v, extra) for k, v in value.items()}
    return value
