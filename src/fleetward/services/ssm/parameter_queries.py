"""GetParametersByPath and DescribeParameters: filters and paging.

Every filter becomes SQL (prefix ranges, ``parent`` for OneLevel, EXISTS
sub-queries for tags and labels), so pages are keyset pages over the name:
``NextToken`` carries the last name returned, and every parameter appears
exactly once across pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.ssm import store
from fleetward.services.ssm.errors import (
    InvalidFilterKey,
    InvalidFilterOption,
    InvalidFilterValue,
    InvalidNextToken,
)
from fleetward.services.ssm.names import COMMON_FILTER_MESSAGE, check_path, param_arn, path_arn, trim
from fleetward.services.ssm.parameter_policies import policies_out
from fleetward.services.ssm.parameters import RESOURCE_TYPE, wire_parameter

__all__ = ["describe_parameters", "get_parameters_by_path"]

_TOP = "\x7f"  # above every character a name or key id may hold
_TYPES = ("String", "StringList", "SecureString")
_TIERS = ("Standard", "Advanced", "Intelligent-Tiering")
_DESCRIBE_KEYS = "[Path, Name, Type, KeyId, Tier]"
_BY_PATH_KEYS = "[Type, KeyId]"


@dataclass
class _Where:
    sql: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, sql: str, *args: Any) -> None:
        self.sql.append(sql)
        self.args.extend(args)


def _prefix(col: str, values: list[str], w: _Where) -> None:
    w.add(
        "(" + " OR ".join(f"({col} >= ? AND {col} < ?)" for _ in values) + ")",
        *[a for v in values for a in (v, v + _TOP)],
    )


def _equals(col: str, values: list[str], w: _Where) -> None:
    w.add(f"{col} IN ({', '.join('?' for _ in values)})", *values)


def _name_forms(values: list[str]) -> list[str]:
    # "/a" and "a" are two spellings of one parameter, stored as created: match either.
    out: list[str] = []
    for v in values:
        bare = v.lstrip("/")
        out += [bare, "/" + bare]
    return list(dict.fromkeys(out))


def _path_filter(values: list[str], option: str, w: _Where) -> None:
    if any(v.lower().startswith(("/aws", "/ssm")) for v in values):
        raise ValidationException(COMMON_FILTER_MESSAGE)
    parts: list[str] = []
    for v in values:
        check_path(v)
        p = v.rstrip("/")
        if option == "OneLevel":
            parts.append("p.parent = ?")
            w.args.append(p)
        elif not p:
            parts.append("1 = 1")
        else:
            parts.append("(p.name >= ? AND p.name < ?)")
            w.args += [p + "/", p + "/" + _TOP]
    w.sql.append("(" + " OR ".join(parts) + ")")


def _contains(dialect: str) -> str:
    # Matched against the name with its leading slash ("a" reads "/a"), as AWS does.
    name = "(CASE WHEN substr(p.name, 1, 1) = '/' THEN p.name ELSE '/' || p.name END)"
    return f"instr({name}, ?) > 0" if dialect == "sqlite" else f"strpos({name}, ?) > 0"


def _apply_filters(ctx: CallContext, filters: list[dict[str, Any]], by_path: bool, w: _Where) -> None:
    seen: set[str] = set()
    for f in filters:
        key: str = f["Key"]
        values: list[str] = f.get("Values") or []
        option: str = f.get("Option") or ("OneLevel" if key == "Path" else "Equals")
        if (by_path and key in ("Name", "Path", "Tier", "DataType")) or (by_path and key.startswith("tag:")):
            raise InvalidFilterKey(
                f"The following filter key is not valid: {key}. Valid filter keys include: {_BY_PATH_KEYS}."
            )
        if not by_path and key == "Label":
            raise InvalidFilterKey(
                f"The following filter key is not valid: Label. Valid filter keys include: {_DESCRIBE_KEYS}."
            )
        # AWS's order: missing values, duplicate key, then the key's own checks.
        if not values and not key.startswith("tag:"):
            raise InvalidFilterValue(f"The following filter values are missing : null for filter key {key}.")
        if key in seen:
            raise InvalidFilterKey(
                f"The following filter is duplicated in the request: {key}. A request can contain only one "
                "occurrence of a specific filter."
            )
        seen.add(key)
        if key == "Path":
            if option not in ("Recursive", "OneLevel"):
                raise InvalidFilterOption(
                    f"The following filter option is not valid: {option}. Valid options include: [Recursive, OneLevel]."
                )
            _path_filter(values, option, w)
            continue
        if key == "Type":
            _enum_values(values, _TYPES)
        if key == "Tier":
            _enum_values(values, _TIERS)
        named = ["BeginsWith", "Equals"] if key != "Label" else ["Equals"]
        # Name also takes Contains, which AWS's message does not list.
        if option not in named and not (key == "Name" and option == "Contains"):
            raise InvalidFilterOption(
                f"The following filter option is not valid: {option}. Valid options include: [{', '.join(named)}]."
            )
        if key == "Name":
            forms = _name_forms(values)
            if option == "Equals":
                _equals("p.name", forms, w)
            elif option == "BeginsWith":
                _prefix("p.name", forms, w)
            else:
                w.add("(" + " OR ".join(_contains(ctx.env.db.dialect) for _ in values) + ")", *values)
        elif key in ("Type", "KeyId", "Tier", "DataType"):
            col = {"Type": "p.type", "KeyId": "p.key_id", "Tier": "p.tier", "DataType": "p.data_type"}[key]
            (_equals if option == "Equals" else _prefix)(col, values, w)
        elif key == "Label":
            w.add(
                "EXISTS (SELECT 1 FROM ssm_parameter_labels l WHERE l.account = p.account AND l.region = p.region"
                f" AND l.name = p.name AND l.label IN ({', '.join('?' for _ in values)}))",
                *values,
            )
        else:  # tag:<key>
            sub = (
                "EXISTS (SELECT 1 FROM ssm_parameter_tags t WHERE t.account = p.account AND t.region = p.region"
                " AND t.name = p.name AND t.tag_key = ?"
            )
            args: list[Any] = [key[4:]]
            if values:
                inner = _Where()
                (_equals if option == "Equals" else _prefix)("t.tag_value", values, inner)
                sub += " AND " + inner.sql[0]
                args += inner.args
            w.add(sub + ")", *args)


def _enum_values(values: list[str], allowed: tuple[str, ...]) -> None:
    for v in values:
        if v not in allowed:
            raise InvalidFilterValue(
                f"The following filter value is not valid: {v}. Valid values include: [{', '.join(allowed)}]."
            )


def _legacy_filters(filters: list[dict[str, Any]], w: _Where) -> None:
    for f in filters:
        values = f.get("Values") or []
        if not values:
            raise InvalidFilterValue(
                f"The following filter values are missing : null for filter key {f['Key']}."
            )
        if f["Key"] == "Name":
            _prefix("p.name", _name_forms(values), w)
        elif f["Key"] == "Type":
            _enum_values(values, _TYPES)
            _equals("p.type", values, w)
        else:
            _equals("p.key_id", values, w)


def _after(token: str | None) -> str | None:
    if not token:
        return None
    pos = store.decode_token(token)
    if not isinstance(pos, dict) or not isinstance(pos.get("after"), str):
        raise InvalidNextToken()
    return str(pos["after"])


async def _page(
    ctx: CallContext, cols: str, w: _Where, token: str | None, limit: int
) -> tuple[list[Any], str | None]:
    after = _after(token)
    if after is not None:
        w.add("p.name > ?", after)
    sql = (
        f"SELECT {cols} FROM ssm_parameters p WHERE p.account = ? AND p.region = ?"
        + "".join(f" AND {s}" for s in w.sql)
        + " ORDER BY p.name LIMIT ?"
    )
    rows = await ctx.conn.fetchall(sql, ctx.account, ctx.region, *w.args, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (store.encode_token({"after": rows[-1]["name"]}) if more and rows else None)


# ----------------------------------------------------- GetParametersByPath


async def _authz_by_path(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return [
        Check(
            "ssm:GetParametersByPath",
            path_arn(ctx.region, ctx.account, trim(req["Path"])),
            {"ssm:recursive": "true" if req.get("Recursive") else "false"},
            resource_type=RESOURCE_TYPE,
        )
    ]


@operation("ssm", "GetParametersByPath", read_only=True, authorize=_authz_by_path)
async def get_parameters_by_path(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    path = trim(req["Path"])
    check_path(path)
    w = _Where()
    base = path.rstrip("/")
    if req.get("Recursive"):
        if base:
            w.add("p.name >= ? AND p.name < ?", base + "/", base + "/" + _TOP)
    else:
        w.add("p.parent = ?", base)
    _apply_filters(ctx, req.get("ParameterFilters") or [], True, w)
    rows, token = await _page(
        ctx,
        "p.name, p.version, p.type, p.data_type, p.value, p.secret, p.modified",
        w,
        req.get("NextToken"),
        req.get("MaxResults") or 10,
    )
    decrypt = bool(req.get("WithDecryption"))
    labels = [
        v for f in req.get("ParameterFilters") or [] if f["Key"] == "Label" for v in f.get("Values") or []
    ]
    if labels:
        rows = [await _labelled_version(ctx, r, labels) for r in rows]
    out: dict[str, Any] = {"Parameters": [await wire_parameter(ctx, r, decrypt) for r in rows]}
    if token:
        out["NextToken"] = token
    return out


async def _labelled_version(ctx: CallContext, row: Any, labels: list[str]) -> Any:
    """With a Label filter, the version that carries the label is returned, not the current one."""
    for label in labels:
        hit = await ctx.conn.fetchone(store.BY_LABEL, ctx.account, ctx.region, row["name"], label)
        if hit is not None:
            return hit
    return row


# ------------------------------------------------------ DescribeParameters


async def _authz_describe(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return [Check("ssm:DescribeParameters", f"arn:aws:ssm:{ctx.region}:{ctx.account}:*")]


@operation("ssm", "DescribeParameters", read_only=True, authorize=_authz_describe)
async def describe_parameters(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    legacy = req.get("Filters") or []
    filters = req.get("ParameterFilters") or []
    if legacy and filters:
        raise ValidationException("You can use either Filters or ParameterFilters in a single request.")
    if req.get("Shared"):
        # Only parameters other accounts share with this one: fleetward shares none.
        _after(req.get("NextToken"))
        return {"Parameters": []}
    w = _Where()
    _legacy_filters(legacy, w)
    _apply_filters(ctx, filters, False, w)
    rows, token = await _page(
        ctx,
        "p.name, p.version, p.type, p.data_type, p.tier, p.key_id, p.description, p.allowed_pattern,"
        " p.policies, p.policy_state, p.modified, p.modified_user",
        w,
        req.get("NextToken"),
        req.get("MaxResults") or 10,
    )
    out: dict[str, Any] = {"Parameters": [_metadata(ctx, r) for r in rows]}
    if token:
        out["NextToken"] = token
    return out


def _metadata(ctx: CallContext, r: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "Name": r["name"],
        "ARN": param_arn(ctx.region, ctx.account, r["name"]),
        "Type": r["type"],
        "LastModifiedDate": store.to_dt(r["modified"]),
        "LastModifiedUser": r["modified_user"],
        "Version": r["version"],
        "Tier": r["tier"],
        "Policies": policies_out(r["policies"], r["policy_state"]),
        "DataType": r["data_type"],
    }
    if r["key_id"]:
        m["KeyId"] = r["key_id"]
    if r["description"]:
        m["Description"] = r["description"]
    if r["allowed_pattern"]:
        m["AllowedPattern"] = r["allowed_pattern"]
    return m
