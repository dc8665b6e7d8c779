"""GetParameterHistory, LabelParameterVersion, UnlabelParameterVersion.

Labels (AWS's rules): at most 10 per version; a label names one version of
a parameter and moves when put on another; invalid labels (starting with
``aws``/``ssm`` or a digit, characters other than letters, digits and
``._-``, over 100 characters) are reported in ``InvalidLabels`` and skipped.
"""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.ssm import store
from fleetward.services.ssm.errors import (
    InvalidNextToken,
    ParameterNotFound,
    ParameterVersionLabelLimitExceeded,
    ParameterVersionNotFound,
)
from fleetward.services.ssm.names import check_label, request_name, trim
from fleetward.services.ssm.parameter_policies import policies_out
from fleetward.services.ssm.parameters import tagged_parameter_check
from fleetward.services.ssm.secure import ciphertext_text, open_value

__all__ = ["get_parameter_history", "label_parameter_version", "unlabel_parameter_version"]

MAX_LABELS = 10
_HISTORY = (
    "SELECT name, version, type, data_type, tier, key_id, value, secret, description, allowed_pattern,"
    " policies, modified, modified_user FROM ssm_parameter_versions"
    " WHERE account = ? AND region = ? AND name = ? AND version > ? ORDER BY version LIMIT ?"
)


async def _current(ctx: CallContext, name: str) -> Any:
    """The current row (``name`` as stored: ``a`` and ``/a`` are one parameter)."""
    row = await store.find(ctx, "name, version, type, description, policy_state", name)
    if row is None:
        raise ParameterNotFound(f"Parameter {name} not found.")
    return row


def _history_name(ctx: CallContext, value: str) -> str:
    # GetParameterHistory takes a name or an ARN.
    return request_name(value, ctx.region, ctx.account)


def _label_name(ctx: CallContext, value: str) -> str:
    # The label operations take a name only ("You can't enter the ARN").
    return trim(value)


@operation(
    "ssm",
    "GetParameterHistory",
    read_only=True,
    authorize=tagged_parameter_check("ssm:GetParameterHistory", _history_name),
)
async def get_parameter_history(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    current = await _current(ctx, _history_name(ctx, req["Name"]))
    name: str = current["name"]
    after = 0
    if req.get("NextToken"):
        pos = store.decode_token(req["NextToken"])
        if not isinstance(pos, dict) or not isinstance(pos.get("version"), int):
            raise InvalidNextToken()
        after = int(pos["version"])
    limit = req.get("MaxResults") or 50
    rows = await ctx.conn.fetchall(_HISTORY, ctx.account, ctx.region, name, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    labels = await store.labels_by_version(ctx, name)
    decrypt = bool(req.get("WithDecryption"))
    out: list[dict[str, Any]] = []
    for r in rows:
        if r["type"] == "SecureString":
            secret = bytes(r["secret"])
            value = await open_value(ctx, name, secret) if decrypt else ciphertext_text(secret)
        else:
            value = r["value"]
        h: dict[str, Any] = {
            "Name": name,
            "Type": r["type"],
            "LastModifiedDate": store.to_dt(r["modified"]),
            "LastModifiedUser": r["modified_user"],
            "Value": value,
            "Version": r["version"],
            "Labels": labels.get(int(r["version"]), []),
            "Tier": r["tier"],
            "Policies": policies_out(
                r["policies"], current["policy_state"], int(r["version"]) == int(current["version"])
            ),
            "DataType": r["data_type"],
        }
        for col, member in (
            ("key_id", "KeyId"),
            ("description", "Description"),
            ("allowed_pattern", "AllowedPattern"),
        ):
            if r[col]:
                h[member] = r[col]
        out.append(h)
    result: dict[str, Any] = {"Parameters": out}
    if more and rows:
        result["NextToken"] = store.encode_token({"version": int(rows[-1]["version"])})
    return result


async def _version_exists(ctx: CallContext, name: str, version: int) -> None:
    row = await ctx.conn.fetchone(
        "SELECT 1 FROM ssm_parameter_versions WHERE account = ? AND region = ? AND name = ? AND version = ?",
        ctx.account,
        ctx.region,
        name,
        version,
    )
    if row is None:
        raise ParameterVersionNotFound(
            f"Systems Manager could not find version {version} of {name}. Verify the version and try again."
        )


@operation(
    "ssm", "LabelParameterVersion", authorize=tagged_parameter_check("ssm:LabelParameterVersion", _label_name)
)
async def label_parameter_version(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    current = await _current(ctx, _label_name(ctx, req["Name"]))
    name: str = current["name"]
    version = (
        int(req["ParameterVersion"]) if req.get("ParameterVersion") is not None else int(current["version"])
    )
    await _version_exists(ctx, name, version)
    labels = list(dict.fromkeys(req["Labels"]))
    invalid = [lb for lb in labels if not check_label(lb)]
    valid = [lb for lb in labels if check_label(lb)]
    rows = await ctx.conn.fetchall(
        "SELECT label FROM ssm_parameter_labels WHERE account = ? AND region = ? AND name = ? AND version = ?",
        ctx.account,
        ctx.region,
        name,
        version,
    )
    have = {r[0] for r in rows}
    if len(have | set(valid)) > MAX_LABELS:
        raise ParameterVersionLabelLimitExceeded()
    for label in valid:
        if label in have:
            continue
        # A label names one version: it moves here from wherever it was.
        await ctx.conn.execute(
            "DELETE FROM ssm_parameter_labels WHERE account = ? AND region = ? AND name = ? AND label = ?",
            ctx.account,
            ctx.region,
            name,
            label,
        )
        await ctx.conn.execute(
            "INSERT INTO ssm_parameter_labels (account, region, name, label, version) VALUES (?, ?, ?, ?, ?)",
            ctx.account,
            ctx.region,
            name,
            label,
            version,
        )
    if valid:
        await store.change_event(ctx, "LabelParameterVersion", name, current["type"], current["description"])
    return {"InvalidLabels": invalid, "ParameterVersion": version}


@operation(
    "ssm",
    "UnlabelParameterVersion",
    authorize=tagged_parameter_check("ssm:UnlabelParameterVersion", _label_name),
)
async def unlabel_parameter_version(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    current = await _current(ctx, _label_name(ctx, req["Name"]))
    name: str = current["name"]
    version = int(req["ParameterVersion"])
    await _version_exists(ctx, name, version)
    removed: list[str] = []
    invalid: list[str] = []
    for label in dict.fromkeys(req["Labels"]):
        n = await ctx.conn.execute(
            "DELETE FROM ssm_parameter_labels WHERE account = ? AND region = ? AND name = ? AND label = ?"
            " AND version = ?",
            ctx.account,
            ctx.region,
            name,
            label,
            version,
        )
        (removed if n else invalid).append(label)
    if removed:
        await store.change_event(
            ctx, "UnlabelParameterVersion", name, current["type"], current["description"]
        )
    return {"RemovedLabels": removed, "InvalidLabels": invalid}
