"""AWS rest-json protocol (resource-groups): routes by method and path."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from botocore.model import OperationModel, ServiceModel

from fleetward.protocol.errors import AWSError, SerializationException
from fleetward.protocol.jsonproto import dump_result
from fleetward.protocol.validate import raise_if_invalid, reader_for

__all__ = ["RestRouter", "dump_error", "parse_request"]


class RestRouter:
    """Maps (method, path) to an operation by the model's ``requestUri`` templates."""

    def __init__(self, model: ServiceModel) -> None:
        self.routes: list[tuple[str, re.Pattern[str], OperationModel]] = []
        for name in model.operation_names:
            op = model.operation_model(name)
            uri = op.http["requestUri"].split("?")[0]
            rx = re.sub(
                r"\{(\w+)(\+?)\}",
                lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})",
                re.escape(uri).replace(r"\{", "{").replace(r"\}", "}").replace(r"\+", "+"),
            )
            self.routes.append((op.http["method"], re.compile(rx + "$"), op))
        # Literal paths before templated ones, longer before shorter.
        self.routes.sort(key=lambda r: (r[1].pattern.count("(?P"), -len(r[1].pattern)))

    def match(self, method: str, path: str) -> tuple[OperationModel, dict[str, str]] | None:
        for m, rx, op in self.routes:
            if m == method:
                hit = rx.match(path)
                if hit:
                    return op, {k: unquote(v) for k, v in hit.groupdict().items()}
        return None


def parse_request(
    op: OperationModel,
    path_params: dict[str, str],
    query: str,
    headers: dict[str, str],
    body: bytes,
) -> dict[str, Any]:
    """Parse and validate a rest-json request; raises Serialization/ValidationException."""
    shape = op.input_shape
    if shape is None:
        return {}
    raw: dict[str, Any] = {}
    if body.strip():
        try:
            loaded = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SerializationException("Request body is not valid JSON") from None
        if not isinstance(loaded, dict):
            raise SerializationException("Request body must be a JSON object")
        raw.update(loaded)
    qs = dict(parse_qsl(query, keep_blank_values=True))
    for name, ms in shape.members.items():
        loc = ms.serialization.get("location")
        wire = ms.serialization.get("name", name)
        if loc == "uri" and wire in path_params:
            raw[name] = path_params[wire]
        elif loc == "querystring" and wire in qs:
            raw[name] = int(qs[wire]) if ms.type_name == "integer" and qs[wire].isdigit() else qs[wire]
        elif loc == "header" and wire.lower() in headers:
            raw[name] = headers[wire.lower()]
    errors: list[str] = []
    out: dict[str, Any] = reader_for(shape)(raw, "", errors)
    raise_if_invalid(errors)
    return out


def dump_error(err: AWSError) -> bytes:
    return orjson.dumps({"Message": err.message, **err.fields})


__all__ += ["dump_result"]
