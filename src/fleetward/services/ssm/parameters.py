"""PutParameter, GetParameter, GetParameters, DeleteParameter, DeleteParameters.

GetParameter is the hot path: the authorizer's single point read of the
current row (tags included, for ``aws:ResourceTag`` keys) is handed to the
handler; a SecureString read ``WithDecryption`` adds one KMS Decrypt as
the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
import re2

from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.ssm import store
from fleetward.services.ssm.errors import (
    HierarchyTypeMismatchException,
    InvalidAllowedPatternException,
    ParameterAlreadyExists,
    ParameterLimitExceeded,
    ParameterMaxVersionLimitExceeded,
    ParameterNotFound,
    ParameterPatternMismatchException,
    ParameterVersionNotFound,
    TooManyTagsError,
    UnsupportedParameterType,
)
from fleetward.services.ssm.names import (
    Selector,
    check_name,
    other_spelling,
    param_arn,
    parse_selector,
    trim,
)
from fleetward.services.ssm.parameter_policies import (
    kept_policy_state,
    load_policies,
    parse_policies,
    policy_due,
    store_policies,
)
from fleetward.services.ssm.secure import DEFAULT_KEY, ciphertext_text, open_value, seal_value
from fleetward.services.ssm.service_settings import DEFAULT_PARAMETER_TIER, setting_value

__all__ = [
    "check_tag_keys",
    "choose_tier",
    "delete_parameter",
    "delete_parameters",
    "get_parameter",
    "get_parameters",
    "put_parameter",
    "resolve",
    "tag_keys",
    "wire_parameter",
]

RESOURCE_TYPE = "AWS::SSM::Parameter"
MAX_VERSIONS = 100
MAX_TAGS = 50
STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192
MAX_STANDARD_PARAMETERS = 10_000
MAX_ADVANCED_PARAMETERS = 100_000
# The data types botocore's model lists for PutParameter.
DATA_TYPES = ("text", "aws:ec2:image", "aws:ssm:integration")
_AMI = re.compile(r"ami-([0-9a-f]{8}|[0-9a-f]{17})")

NESTED_MESSAGE = 'Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.'
TAGS_AND_OVERWRITE = (
    "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please "
    "remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or "
    "RemoveTagsFromResource."
)
DOWNGRADE = (
    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
    "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced "
    "parameter and recreate it as a standard parameter."
)


RESERVED_TAG_MESSAGE = 'Tag keys starting with "aws:" are reserved for AWS use.'


def check_tag_keys(keys: list[str]) -> None:
    """Tag keys a caller may set: none starting with ``aws:`` (ValidationException)."""
    if any(k.lower().startswith("aws:") for k in keys):
        raise ValidationException(RESERVED_TAG_MESSAGE)


def _nests(value: str) -> bool:
    """Whether ``value`` wraps something in double brackets, which AWS refuses
    ("You can't include values wrapped in double brackets {{}} or
    {{ssm:parameter-name}} in a parameter value", the model says)."""
    start = value.find("{{")
    return start >= 0 and value.find("}}", start + 2) >= 0


def tag_keys(tags_json: str | None) -> dict[str, str]:
    """``aws:ResourceTag/<key>`` condition keys for a row's JSON tags."""
    if not tags_json or tags_json == "{}":
        return {}
    return {f"aws:resourcetag/{k}".lower(): v for k, v in orjson.loads(tags_json).items()}


async def resolve(ctx: CallContext, sel: Selector, raw: str) -> Any:
    """The row a selector names (current, ``:version`` or ``:label``).

    Raises ParameterNotFound / ParameterVersionNotFound with AWS's messages.
    """
    found, row = store.prefetch_take(ctx.request_id) if ctx.request_id else (False, None)
    if not found or (row is not None and row["name"] not in (sel.name, other_spelling(sel.name))):
        # fetch_current finds "a" and "/a" alike, which also covers ARNs (parameter/a).
        row = await store.fetch_current(ctx, sel.name)
    if row is None:
        raise ParameterNotFound(f"Parameter {raw} not found.")
    name = row["name"]
    if sel.version is not None and sel.version != row["version"]:
        # A version past the largest the database holds (a long) names none.
        known = sel.version < 2**63
        row = (
            await ctx.conn.fetchone(store.VERSION, ctx.account, ctx.region, name, sel.version)
            if known
            else None
        )
        if row is None:
            raise ParameterVersionNotFound(
                f"Systems Manager could not find version {sel.version} of {sel.name}. "
                "Verify the version and try again."
            )
    elif sel.label is not None:
        row = await ctx.conn.fetchone(store.BY_LABEL, ctx.account, ctx.region, name, sel.label)
        if row is None:
            raise ParameterNotFound(f"Parameter {raw} not found.")
    return row


async def wire_parameter(
    ctx: CallContext, row: Any, decrypt: bool, selector: str | None = None
) -> dict[str, Any]:
    """The wire ``Parameter`` for a row (value decrypted as the caller if asked)."""
    name = row["name"]
    if row["type"] == "SecureString":
        secret = bytes(row["secret"])
        value = await open_value(ctx, name, secret) if decrypt else ciphertext_text(secret)
    else:
        value = row["value"]
    out: dict[str, Any] = {
        "Name": name,
        "Type": row["type"],
        "Value": value,
        "Version": row["version"],
        "LastModifiedDate": store.to_dt(row["modified"]),
        "ARN": param_arn(ctx.region, ctx.account, name),
        "DataType": row["data_type"],
    }
    if selector:
        out["Selector"] = selector
    return out


# ------------------------------------------------------------- GetParameter


async def _authz_get(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    raw = trim(req["Name"])
    sel = parse_selector(raw, ctx.region, ctx.account)
    name = sel.name if sel else raw
    keys: dict[str, str] = {}
    if sel is not None:
        row = await store.fetch_current(ctx, name)
        store.prefetch_put(ctx.request_id, row)
        if row is not None:
            keys = tag_keys(row["tags"])
    return [
        Check(
            "ssm:GetParameter",
            param_arn(ctx.region, ctx.account, name),
            keys or None,
            resource_type=RESOURCE_TYPE,
        )
    ]


@operation("ssm", "GetParameter", read_only=True, authorize=_authz_get)
async def get_parameter(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    raw = trim(req["Name"])
    sel = parse_selector(raw, ctx.region, ctx.account)
    if sel is None:
        raise ParameterNotFound(f"Parameter {raw} not found.")
    row = await resolve(ctx, sel, raw)
    return {"Parameter": await wire_parameter(ctx, row, bool(req.get("WithDecryption")), sel.text)}


# ------------------------------------------------------------ GetParameters


async def _names_checks(ctx: CallContext, names: list[str], action: str) -> list[Check]:
    """One check per parameter named (selectors and either spelling of a
    top-level name fold together), each with that parameter's tags as
    ``aws:ResourceTag/<k>`` keys: one read for the whole batch."""
    wanted: dict[str, str] = {}
    for raw in names:
        sel = parse_selector(raw, ctx.region, ctx.account)
        wanted[raw] = sel.name if sel else trim(raw)
    lookup = {n for name in wanted.values() for n in (name, other_spelling(name)) if n}
    rows = await ctx.conn.fetchall(
        "SELECT name, tags FROM ssm_parameters WHERE account = ? AND region = ? AND name IN ("
        + ", ".join("?" for _ in lookup)
        + ")",
        ctx.account,
        ctx.region,
        *sorted(lookup),
    )
    tags = {r["name"]: r["tags"] for r in rows}
    seen: dict[str, Check] = {}
    for name in wanted.values():
        found = tags.get(name, tags.get(other_spelling(name) or ""))
        keys = tag_keys(found)
        arn = param_arn(ctx.region, ctx.account, name)
        seen.setdefault(arn, Check(action, arn, keys or None, resource_type=RESOURCE_TYPE))
    return list(seen.values())


async def _authz_get_many(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return await _names_checks(ctx, req["Names"], "ssm:GetParameters")


@operation("ssm", "GetParameters", read_only=True, authorize=_authz_get_many)
async def get_parameters(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = []
    invalid: list[str] = []
    decrypt = bool(req.get("WithDecryption"))
    for raw in dict.fromkeys(req["Names"]):
        sel = parse_selector(raw, ctx.region, ctx.account)
        if sel is None:
            invalid.append(raw)
            continue
        try:
            row = await resolve(ctx, sel, raw)
        except (ParameterNotFound, ParameterVersionNotFound):
            invalid.append(raw)
            continue
        found.append(await wire_parameter(ctx, row, decrypt, sel.text))
    found.sort(key=lambda p: str(p["Name"]))  # "listed in alphabetical order", as AWS documents
    return {"Parameters": found, "InvalidParameters": invalid}


# ------------------------------------------------------------- PutParameter


async def _authz_put(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    name = trim(req["Name"])
    keys: dict[str, Any] = {"ssm:overwrite": "true" if req.get("Overwrite") else "false"}
    row = await store.find(ctx, "name, tags", name)
    if row is not None:
        keys.update(tag_keys(row["tags"]))
    tags = req.get("Tags") or []
    if tags:
        keys["aws:tagkeys"] = [t["Key"] for t in tags]
        keys.update({f"aws:requesttag/{t['Key']}".lower(): t["Value"] for t in tags})
    return [
        Check("ssm:PutParameter", param_arn(ctx.region, ctx.account, name), keys, resource_type=RESOURCE_TYPE)
    ]


async def _default_tier(ctx: CallContext) -> str:
    """The tier of a put that names none: the account's default-parameter-tier setting."""
    return await setting_value(ctx.conn, ctx.account, ctx.region, DEFAULT_PARAMETER_TIER)


def choose_tier(
    requested: str, size: int, has_policies: bool, existing: str | None, standard_full: bool = False
) -> str:
    """The tier a put lands in. ``Intelligent-Tiering`` is Advanced when something
    needs it (AWS's list: a value over 4 KB, a parameter policy, or no room left
    for another standard parameter; an Advanced parameter stays Advanced);
    ``Standard`` on an Advanced parameter is refused (ValidationException)."""
    if requested == "Intelligent-Tiering":
        advanced = (
            size > STANDARD_LIMIT
            or has_policies
            or existing == "Advanced"
            or (existing is None and standard_full)
        )
        return "Advanced" if advanced else "Standard"
    if requested == "Standard" and existing == "Advanced":
        raise ValidationException(DOWNGRADE)
    return requested


def _check_pattern(pattern: str, value: str, ptype: str) -> None:
    try:
        rx = re2.compile(pattern)
    except re2.error:
        raise InvalidAllowedPatternException() from None
    items = value.split(",") if ptype == "StringList" else [value]
    if not all(rx.match(item) for item in items):
        raise ParameterPatternMismatchException(
            f"Parameter value, cannot be validated against allowedPattern: {pattern}"
        )


@operation("ssm", "PutParameter", authorize=_authz_put)
async def put_parameter(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    name = trim(req["Name"])
    value: str = req["Value"]
    overwrite = bool(req.get("Overwrite"))
    tags = req.get("Tags") or []
    check_name(name, ctx.region, ctx.account)
    if not value:
        # botocore's model sets no minimum, but AWS refuses an empty value.
        raise ValidationException(
            "1 validation error detected: Value '' at 'value' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1."
        )
    if _nests(value):
        raise ValidationException(NESTED_MESSAGE)
    if tags and overwrite:
        raise ValidationException(TAGS_AND_OVERWRITE)
    if len(tags) > MAX_TAGS:
        raise TooManyTagsError()
    check_tag_keys([t["Key"] for t in tags])
    existing = await store.fetch_current(ctx, name)
    if existing is not None and not overwrite:
        raise ParameterAlreadyExists()
    if existing is not None:
        name = existing["name"]  # "a" overwrites "/a" and the reverse: one parameter, as created
    ptype = req.get("Type") or (existing["type"] if existing is not None else None)
    if ptype is None:
        raise ValidationException("A parameter type is required when you create a parameter.")
    if existing is not None and ptype != existing["type"]:
        raise HierarchyTypeMismatchException()
    data_type = req.get("DataType") or (existing["data_type"] if existing is not None else "text")
    if data_type not in DATA_TYPES:
        raise ValidationException(
            f"The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )
    if data_type == "aws:ec2:image":
        if ptype != "String":
            raise UnsupportedParameterType(
                f"The parameter type {ptype} isn't supported for the data type aws:ec2:image. Use String."
            )
        if not _AMI.fullmatch(value):
            raise ValidationException(
                f"Parameter value, {value}, doesn't match the format of the data type aws:ec2:image: "
                "ami- followed by 8 or 17 hexadecimal characters."
            )
    if data_type == "aws:ssm:integration" and ptype != "SecureString":
        # Integration (webhook) parameters hold a secret: SecureString only.
        raise UnsupportedParameterType(
            f"The parameter type {ptype} isn't supported for the data type aws:ssm:integration. Use SecureString."
        )
    if req.get("KeyId") and ptype != "SecureString":
        raise ValidationException("KeyId is required for SecureString type parameter only.")
    if ptype == "StringList" and any(not item for item in value.split(",")):
        raise ValidationException(
            "Parameter value of type StringList can't contain empty items between commas."
        )
    description = req.get("Description")
    if description is None and existing is not None:
        description = existing["description"]
    pattern = req.get("AllowedPattern")
    if pattern is None and existing is not None:
        pattern = existing["allowed_pattern"]
    if pattern:
        _check_pattern(pattern, value, ptype)
    done: set[str] = set()
    if req.get("Policies"):
        policies = parse_policies(req["Policies"], ctx.now)  # "[]" removes them all
    elif existing is not None:
        # AWS: "All existing policies are preserved until you send new policies or an empty policy."
        policies = load_policies(existing["policies"])
        done = kept_policy_state(existing["policy_state"])
    else:
        policies = []
    size = len(value.encode())
    existing_tier = existing["tier"] if existing is not None else None
    requested = req.get("Tier") or ("Advanced" if existing_tier == "Advanced" else await _default_tier(ctx))
    standard_full = (
        requested == "Intelligent-Tiering" and existing is None and await _tier_full(ctx, "Standard")
    )
    tier = choose_tier(requested, size, bool(policies), existing_tier, standard_full)
    if tier == "Standard":
        if size > STANDARD_LIMIT:
            raise ValidationException(
                "Standard tier parameters support a maximum parameter value of 4096 characters. To create a "
                "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more "
                "information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                "parameter-store-advanced-parameters.html"
            )
        if policies:
            raise ValidationException(
                "Standard tier parameters don't support parameter policies. Use the advanced-parameter tier "
                "to attach policies to a parameter."
            )
    elif size > ADVANCED_LIMIT:
        raise ValidationException(
            f"Advanced tier parameters support a maximum parameter value of {ADVANCED_LIMIT} characters."
        )
    if existing is None:
        if await _tier_full(ctx, tier):
            raise ParameterLimitExceeded()
        version = 1
    else:
        version = int(existing["version"]) + 1
        await _make_room(ctx, name)
    key_id = key_arn = secret = None
    plain: str | None = value
    if ptype == "SecureString":
        key_id = req.get("KeyId") or (existing["key_id"] if existing is not None else None) or DEFAULT_KEY
        secret, key_arn = await seal_value(ctx, key_id, name, value, tier)
        plain = None
    fields = {
        "type": ptype,
        "data_type": data_type,
        "tier": tier,
        "key_id": key_id,
        "key_arn": key_arn,
        "value": plain,
        "secret": secret,
        "description": description,
        "allowed_pattern": pattern,
        "policies": store_policies(policies),
        "modified": float(ctx.now),
        "modified_user": ctx.principal.arn,
        "policy_due": policy_due(policies, ctx.now, done),
        "policy_state": orjson.dumps(sorted(done)).decode() if done else None,
    }
    tag_map = {t["Key"]: t["Value"] for t in tags}
    tags_json = existing["tags"] if existing is not None else orjson.dumps(tag_map).decode()
    await store.write_version(ctx, name, version, fields, tags_json)
    if tag_map:
        await ctx.conn.executemany(
            "INSERT INTO ssm_parameter_tags (account, region, name, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)",
            [(ctx.account, ctx.region, name, k, v) for k, v in tag_map.items()],
        )
    await store.change_event(ctx, "Create" if existing is None else "Update", name, ptype, description)
    ctx.resources = [{"ARN": param_arn(ctx.region, ctx.account, name), "type": RESOURCE_TYPE}]
    return {"Version": version, "Tier": tier}


async def _tier_full(ctx: CallContext, tier: str) -> bool:
    """Whether the account holds as many parameters of ``tier`` as it may in this region."""
    limit = MAX_ADVANCED_PARAMETERS if tier == "Advanced" else MAX_STANDARD_PARAMETERS
    row = await ctx.conn.fetchone(
        "SELECT COUNT(*) FROM ssm_parameters WHERE account = ? AND region = ? AND tier = ?",
        ctx.account,
        ctx.region,
        tier,
    )
    return row is not None and int(row[0]) >= limit


async def _make_room(ctx: CallContext, name: str) -> None:
    """Keep at most 100 versions: delete the oldest, unless it carries a label."""
    row = await ctx.conn.fetchone(
        "SELECT COUNT(*), MIN(version) FROM ssm_parameter_versions WHERE account = ? AND region = ? AND name = ?",
        ctx.account,
        ctx.region,
        name,
    )
    if row is None or int(row[0]) < MAX_VERSIONS:
        return
    oldest = int(row[1])
    label = await ctx.conn.fetchone(
        "SELECT label FROM ssm_parameter_labels WHERE account = ? AND region = ? AND name = ? AND version = ?",
        ctx.account,
        ctx.region,
        name,
        oldest,
    )
    if label is not None:
        raise ParameterMaxVersionLimitExceeded(
            f"You attempted to create a new version of {name} by calling the PutParameter API with the "
            f"overwrite flag. Version {oldest}, the oldest version, can't be deleted because it has a label "
            "associated with it. Move the label to another version of the parameter, and try again."
        )
    await ctx.conn.execute(
        "DELETE FROM ssm_parameter_versions WHERE account = ? AND region = ? AND name = ? AND version = ?",
        ctx.account,
        ctx.region,
        name,
        oldest,
    )


# ---------------------------------------------------------- DeleteParameter


def tagged_parameter_check(action: str, name_of: Callable[[CallContext, str], str] | None = None) -> Any:
    """An ``authorize`` for ``action`` on the request's ``Name`` (read by
    ``name_of`` if given), with the parameter's tags as ``aws:ResourceTag/<k>``
    condition keys."""

    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        name = name_of(ctx, req["Name"]) if name_of else req["Name"]
        row = await store.find(ctx, "name, tags", name)
        keys = tag_keys(row["tags"]) if row is not None else {}
        return [
            Check(action, param_arn(ctx.region, ctx.account, name), keys or None, resource_type=RESOURCE_TYPE)
        ]

    return authz


_authz_delete = tagged_parameter_check("ssm:DeleteParameter")


async def _delete_one(ctx: CallContext, name: str) -> bool:
    row = await store.find(ctx, "name, type, description", name)
    if row is None:
        return False
    await store.delete_all(ctx.conn, ctx.account, ctx.region, row["name"])
    await store.change_event(ctx, "Delete", row["name"], row["type"], row["description"])
    return True


@operation("ssm", "DeleteParameter", authorize=_authz_delete)
async def delete_parameter(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["Name"]
    if not await _delete_one(ctx, name):
        raise ParameterNotFound(f"Parameter {name} not found.")
    return {}


async def _authz_delete_many(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
    return await _names_checks(ctx, req["Names"], "ssm:DeleteParameters")


@operation("ssm", "DeleteParameters", authorize=_authz_delete_many)
async def delete_parameters(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    deleted: list[str] = []
    invalid: list[str] = []
    for name in dict.fromkeys(req["Names"]):
        (deleted if await _delete_one(ctx, name) else invalid).append(name)
    ctx.resources = [{"ARN": param_arn(ctx.region, ctx.account, n), "type": RESOURCE_TYPE} for n in deleted]
    return {"DeletedParameters": deleted, "InvalidParameters": invalid}
