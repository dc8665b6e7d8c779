"""Parameter rows: the SQL every Parameter Store operation shares.

``ssm_parameters`` holds the current version of each parameter (the hot
path's single point read, tags included for the authorizer);
``ssm_parameter_versions`` every kept version (at most 100);
``ssm_parameter_labels`` the label -> version map; ``ssm_parameter_tags``
the tags again, for DescribeParameters' ``tag:`` filters.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import orjson

from fleetward.services.context import CallContext, emit_event
from fleetward.services.ssm.errors import InvalidNextToken
from fleetward.services.ssm.names import other_spelling, param_arn, parent_of

__all__ = [
    "CURRENT",
    "VERSION",
    "change_event",
    "decode_token",
    "delete_all",
    "encode_token",
    "fetch_current",
    "find",
    "labels_by_version",
    "prefetch_put",
    "prefetch_take",
    "to_dt",
]

_VCOLS = (
    "type, data_type, tier, key_id, key_arn, value, secret, description, allowed_pattern,"
    " policies, modified, modified_user"
)
# Statement texts built once: the drivers cache prepared statements by text.
CURRENT = (
    f"SELECT name, version, {_VCOLS}, tags, policy_state FROM ssm_parameters"
    " WHERE account = ? AND region = ? AND name = ?"
)
VERSION = (
    f"SELECT name, version, {_VCOLS} FROM ssm_parameter_versions"
    " WHERE account = ? AND region = ? AND name = ? AND version = ?"
)
BY_LABEL = (
    f"SELECT v.name, v.version, {', '.join('v.' + c.strip() for c in _VCOLS.split(','))}"
    " FROM ssm_parameter_labels l JOIN ssm_parameter_versions v"
    " ON v.account = l.account AND v.region = l.region AND v.name = l.name AND v.version = l.version"
    " WHERE l.account = ? AND l.region = ? AND l.name = ? AND l.label = ?"
)
_INSERT_VERSION = (
    f"INSERT INTO ssm_parameter_versions (account, region, name, version, {_VCOLS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_CURRENT = (
    f"INSERT INTO ssm_parameters (account, region, name, parent, version, {_VCOLS}, tags, policy_due, policy_state)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (account, region, name) DO UPDATE SET version = excluded.version, type = excluded.type,"
    " data_type = excluded.data_type, tier = excluded.tier, key_id = excluded.key_id,"
    " key_arn = excluded.key_arn, value = excluded.value, secret = excluded.secret,"
    " description = excluded.description, allowed_pattern = excluded.allowed_pattern,"
    " policies = excluded.policies, modified = excluded.modified, modified_user = excluded.modified_user,"
    " policy_due = excluded.policy_due, policy_state = excluded.policy_state"
)


def to_dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def fetch_current(ctx: CallContext, name: str) -> Any:
    """The current row of ``name``; a top-level name is found under either
    spelling (``/a`` or ``a``), so callers use the row's ``name`` from here on."""
    row = await ctx.conn.fetchone(CURRENT, ctx.account, ctx.region, name)
    if row is None and (other := other_spelling(name)) is not None:
        row = await ctx.conn.fetchone(CURRENT, ctx.account, ctx.region, other)
    return row


async def find(ctx: CallContext, cols: str, name: str) -> Any:
    """Columns ``cols`` (which should include ``name``) of the current row of
    ``name``, under either spelling of a top-level name; None if there is none."""
    sql = f"SELECT {cols} FROM ssm_parameters WHERE account = ? AND region = ? AND name = ?"
    row = await ctx.conn.fetchone(sql, ctx.account, ctx.region, name)
    if row is None and (other := other_spelling(name)) is not None:
        row = await ctx.conn.fetchone(sql, ctx.account, ctx.region, other)
    return row


async def write_version(ctx: CallContext, name: str, version: int, fields: dict[str, Any], tags: str) -> None:
    """Insert version ``version`` of ``name`` and make it current.

    ``fields`` holds the version columns (type ... modified_user) plus
    ``policy_due`` and ``policy_state`` (the policy actions already taken,
    JSON, or None); ``tags`` is the JSON tag object of the current row.
    """
    vals = [fields[c.strip()] for c in _VCOLS.split(",")]
    await ctx.conn.execute(_INSERT_VERSION, ctx.account, ctx.region, name, version, *vals)
    await ctx.conn.execute(
        _UPSERT_CURRENT,
        ctx.account,
        ctx.region,
        name,
        parent_of(name),
        version,
        *vals,
        tags,
        fields.get("policy_due"),
        fields.get("policy_state"),
    )


async def delete_all(conn: Any, account: str, region: str, name: str) -> int:
    """Delete a parameter with its versions, labels and tags; returns 1 if it existed."""
    n = await conn.execute(
        "DELETE FROM ssm_parameters WHERE account = ? AND region = ? AND name = ?", account, region, name
    )
    for table in ("ssm_parameter_versions", "ssm_parameter_labels", "ssm_parameter_tags"):
        await conn.execute(
            f"DELETE FROM {table} WHERE account = ? AND region = ? AND name = ?", account, region, name
        )
    return int(n)


async def labels_by_version(ctx: CallContext, name: str) -> dict[int, list[str]]:
    rows = await ctx.conn.fetchall(
        "SELECT version, label FROM ssm_parameter_labels WHERE account = ? AND region = ? AND name = ?"
        " ORDER BY label",
        ctx.account,
        ctx.region,
        name,
    )
    out: dict[int, list[str]] = {}
    for r in rows:
        out.setdefault(int(r[0]), []).append(r[1])
    return out


async def change_event(
    ctx: CallContext, operation: str, name: str, type_: str, description: str | None
) -> None:
    """The "Parameter Store Change" event (never the value), in the call's transaction."""
    detail: dict[str, Any] = {"operation": operation, "name": name, "type": type_}
    if description:
        detail["description"] = description
    await emit_event(
        ctx, "aws.ssm", "Parameter Store Change", [param_arn(ctx.region, ctx.account, name)], detail
    )


def encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def decode_token(token: str) -> Any:
    """The position a NextToken names; InvalidNextToken if it is not one of ours."""
    try:
        return orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, orjson.JSONDecodeError) as e:
        raise InvalidNextToken() from e


# The authorizer's point read, handed to the handler of the same request so
# that GetParameter reads the row once. Bounded: a denied call leaves its
# entry behind until it ages out.
_PREFETCH: OrderedDict[str, Any] = OrderedDict()
_PREFETCH_MAX = 4096


def prefetch_put(request_id: str, row: Any) -> None:
    _PREFETCH[request_id] = row
    if len(_PREFETCH) > _PREFETCH_MAX:
        _PREFETCH.popitem(last=False)


def prefetch_take(request_id: str) -> tuple[bool, Any]:
    """(found, row) for the request; the entry is removed."""
    try:
        return True, _PREFETCH.pop(request_id)
    except KeyError:
        return False, None
