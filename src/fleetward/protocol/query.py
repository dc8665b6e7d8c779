"""AWS Query protocol (IAM, STS): form-encoded requests, XML responses."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape as _escape

from botocore.model import OperationModel, Shape

from fleetward.protocol.errors import AWSError, SerializationException
from fleetward.protocol.validate import raise_if_invalid, reader_for

__all__ = ["CONTENT_TYPE", "dump_error", "dump_result", "parse_form", "parse_request"]

CONTENT_TYPE = b"text/xml"


def parse_form(body: bytes, query: str) -> dict[str, str]:
    """The request's parameters: query string then form body (body wins)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise SerializationException("Request body is not valid UTF-8") from None
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def _member_key(shape: Shape, name: str) -> str:
    return str(shape.serialization.get("name", name))


def _gather(shape: Shape, params: dict[str, str], prefix: str) -> Any:
    t = shape.type_name
    if t == "structure":
        out: dict[str, Any] = {}
        for name, ms in shape.members.items():
            key = f"{prefix}.{_member_key(ms, name)}" if prefix else _member_key(ms, name)
            v = _gather(ms, params, key)
            if v is not None:
                out[name] = v
        return out if (out or not prefix) else None
    if t == "list":
        member = shape.member
        flat = shape.serialization.get("flattened")
        base = prefix if flat else f"{prefix}.{member.serialization.get('name', 'member')}"
        items = []
        i = 1
        while True:
            v = _gather(member, params, f"{base}.{i}")
            if v is None:
                break
            items.append(v)
            i += 1
        if not items and prefix in params and params[prefix] == "":
            return []  # explicit empty list: "Name="
        return items or None
    if t == "map":
        k_name = shape.key.serialization.get("name", "key")
        v_name = shape.value.serialization.get("name", "value")
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        out_map: dict[str, Any] = {}
        i = 1
        while f"{base}.{i}.{k_name}" in params:
            out_map[params[f"{base}.{i}.{k_name}"]] = _gather(
                shape.value,
                params,
                f"{base}.{i}.{v_name}",
            )
            i += 1
        return out_map or None
    raw = params.get(prefix)
    if raw is None:
        return None
    if t in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            raise SerializationException(f"Invalid value for {prefix}: {raw}") from None
    if t in ("float", "double"):
        try:
            return float(raw)
        except ValueError:
            raise SerializationException(f"Invalid value for {prefix}: {raw}") from None
    if t == "boolean":
        if raw.lower() not in ("true", "false"):
            raise SerializationException(f"Invalid value for {prefix}: {raw}")
        return raw.lower() == "true"
    if t == "blob":
        try:
            return base64.b64decode(raw)
        except ValueError:
            raise SerializationException(f"Invalid base64 for {prefix}") from None
    return raw


def parse_request(op: OperationModel, params: dict[str, str]) -> dict[str, Any]:
    """Parse and validate the Query parameters of ``op``."""
    shape = op.input_shape
    if shape is None:
        return {}
    raw = _gather(shape, params, "")
    errors: list[str] = []
    out: dict[str, Any] = reader_for(shape)(raw, "", errors)
    raise_if_invalid(errors)
    return out


# An XML parser reads a raw CR (and CRLF) in text as LF: a value holding one
# must carry it as a character reference to reach the client intact.
_ENTITIES = {"\r": "&#13;"}


def escape(text: str) -> str:
    """``text`` as XML character data (``&``, ``<``, ``>`` and CR escaped)."""
    return _escape(text, _ENTITIES)


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(shape: Shape, value: Any, parts: list[str]) -> None:
    t = shape.type_name
    if t == "structure":
        for name, ms in shape.members.items():
            v = value.get(name)
            if v is None:
                continue
            tag = _member_key(ms, name)
            if ms.type_name == "list" and ms.serialization.get("flattened"):
                for item in v:
                    parts.append(f"<{tag}>")
                    _xml(ms.member, item, parts)
                    parts.append(f"</{tag}>")
                continue
            parts.append(f"<{tag}>")
            _xml(ms, v, parts)
            parts.append(f"</{tag}>")
    elif t == "list":
        member = shape.member
        tag = member.serialization.get("name", "member")
        for item in value:
            parts.append(f"<{tag}>")
            _xml(member, item, parts)
            parts.append(f"</{tag}>")
    elif t == "map":
        for k, v in value.items():
            parts.append("<entry><key>")
            parts.append(escape(str(k)))
            parts.append("</key><value>")
            _xml(shape.value, v, parts)
            parts.append("</value></entry>")
    elif t == "timestamp":
        parts.append(_ts(value) if isinstance(value, datetime) else escape(str(value)))
    elif t == "boolean":
        parts.append("true" if value else "false")
    elif t == "blob":
        parts.append(base64.b64encode(value).decode())
    else:
        parts.append(escape(str(value)))


def dump_result(op: OperationModel, namespace: str, result: dict[str, Any] | None, request_id: str) -> bytes:
    """The XML response document of ``op``."""
    name = op.name
    parts = [f'<{name}Response xmlns="{namespace}">']
    out = op.output_shape
    if out is not None:
        wrapper = out.serialization.get("resultWrapper", f"{name}Result")
        parts.append(f"<{wrapper}>")
        _xml(out, result or {}, parts)
        parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>")
    return "".join(parts).encode()


def dump_error(err: AWSError, namespace: str, request_id: str) -> bytes:
    kind = "Sender" if err.sender_fault else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(err.code_for('query'))}</Code><Message>{escape(err.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
