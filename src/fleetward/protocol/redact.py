"""Redaction of members botocore marks ``sensitive``.

Logs and the audit trail never hold a secret: every value whose shape (or
the member that references it) is sensitive becomes ``HIDDEN``.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape

__all__ = ["HIDDEN", "has_sensitive", "redact"]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

_has: dict[int, bool] = {}


def _sensitive(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive") or shape.serialization.get("sensitive"))


def has_sensitive(shape: Shape) -> bool:
    """Whether any value under ``shape`` is sensitive (cached per shape)."""
    key = id(shape)
    hit = _has.get(key)
    if hit is not None:
        return hit
    _has[key] = False  # recursion guard
    t = shape.type_name
    if _sensitive(shape):
        r = True
    elif t == "structure":
        r = any(has_sensitive(m) for m in shape.members.values())
    elif t == "list":
        r = has_sensitive(shape.member)
    elif t == "map":
        r = has_sensitive(shape.key) or has_sensitive(shape.value)
    else:
        r = False
    _has[key] = r
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
