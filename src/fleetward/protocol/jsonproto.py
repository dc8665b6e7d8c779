"""AWS JSON 1.1 protocol: request bodies in, result and error bodies out."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from botocore.model import OperationModel

from fleetward.protocol.errors import AWSError, SerializationException
from fleetward.protocol.validate import raise_if_invalid, reader_for

__all__ = ["CONTENT_TYPE", "dump_error", "dump_result", "parse_request"]

CONTENT_TYPE = b"application/x-amz-json-1.1"


def parse_request(op: OperationModel, body: bytes) -> dict[str, Any]:
    """Parse and validate a JSON 1.1 request body for ``op``.

    Raises SerializationException (not JSON, wrong types) or
    ValidationException (model constraints).
    """
    if not body.strip():
        raw: Any = {}
    else:
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SerializationException("Start of structure or map found where not expected.") from None
    if not isinstance(raw, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    shape = op.input_shape
    if shape is None:
        return {}
    errors: list[str] = []
    out: dict[str, Any] = reader_for(shape)(raw, "", errors)
    raise_if_invalid(errors)
    return out


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(type(value).__name__)


_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dump_result(result: dict[str, Any] | None) -> bytes:
    """Serialize an operation's result (datetimes to epoch seconds, bytes to base64)."""
    if not result:
        return b"{}"
    return orjson.dumps(result, default=_default, option=_OPTS)


def dump_error(err: AWSError) -> bytes:
    body: dict[str, Any] = {"__type": err.code, "message": err.message}
    if err.fields:
        body.update(err.fields)
    return orjson.dumps(body, default=_default, option=_OPTS)
