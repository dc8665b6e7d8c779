"""GetServiceSetting, UpdateServiceSetting, ResetServiceSetting.

Service settings are per account and region. A setting the account never
changed has no row in ``service_settings`` and reads as its default
(``Status`` ``Default``, ``LastModifiedUser`` ``System``); an update writes
the row (``Customized``), a reset deletes it. Only the setting ids botocore's
model documents exist; there is no way to create one.

Other features read a setting through :func:`setting_value`
(``/ssm/parameter-store/default-parameter-tier`` for PutParameter,
``/ssm/documents/console/public-sharing-permission`` for document sharing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fleetward.protocol.errors import ValidationException
from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.ssm.errors import ServiceSettingNotFound
from fleetward.services.ssm.store import to_dt

__all__ = [
    "DEFAULT_PARAMETER_TIER",
    "PUBLIC_SHARING_PERMISSION",
    "SETTINGS",
    "SettingSpec",
    "get_service_setting",
    "reset_service_setting",
    "setting_arn",
    "setting_value",
    "update_service_setting",
]

DEFAULT_PARAMETER_TIER = "/ssm/parameter-store/default-parameter-tier"
PUBLIC_SHARING_PERMISSION = "/ssm/documents/console/public-sharing-permission"
SYSTEM_USER = "System"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """A setting's default and what UpdateServiceSetting accepts: one of
    ``allowed``, or (when ``pattern`` is set) a value matching it whole."""

    default: str
    allowed: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    what: str = ""  # the accepted values in words, for the error message


# CloudWatch Logs log group names (the logs model's LogGroupName shape).
_LOG_GROUP = re.compile(r"[\.\-_/#A-Za-z0-9]{1,512}")
# An IAM role name, optionally behind a path ("service-role/MyRole").
_ROLE = re.compile(r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII)
# No value set: the models' strings are at least one character long.
_UNSET = "$None"

# The setting ids botocore's model lists for GetServiceSetting, with the values
# its UpdateServiceSetting documentation allows. The defaults: the user guide's
# where it gives one; Disable for public sharing (fleetward shares no document
# publicly unless the account opts in, see DESIGN.md section 5).
SETTINGS: dict[str, SettingSpec] = {
    "/ssm/appmanager/appmanager-enabled": SettingSpec("False", ("True", "False")),
    "/ssm/automation/customer-script-log-destination": SettingSpec(_UNSET, ("CloudWatch",)),
    "/ssm/automation/customer-script-log-group-name": SettingSpec(
        "/aws/ssm/automation/executeScript", pattern=_LOG_GROUP, what="a CloudWatch Logs log group name"
    ),
    "/ssm/automation/enable-adaptive-concurrency": SettingSpec("False", ("True", "False")),
    PUBLIC_SHARING_PERMISSION: SettingSpec("Disable", ("Enable", "Disable")),
    "/ssm/managed-instance/activation-tier": SettingSpec("standard", ("standard", "advanced")),
    "/ssm/managed-instance/default-ec2-instance-management-role": SettingSpec(
        _UNSET, pattern=_ROLE, what="the name of an IAM role"
    ),
    "/ssm/opsinsights/opscenter": SettingSpec("Disabled", ("Enabled", "Disabled")),
    DEFAULT_PARAMETER_TIER: SettingSpec("Standard", ("Standard", "Advanced", "Intelligent-Tiering")),
    "/ssm/parameter-store/high-throughput-enabled": SettingSpec("false", ("true", "false")),
}

_ARN = re.compile(r"arn:[a-z-]+:ssm:(?P<region>[^:]*):(?P<account>[^:]*):servicesetting(?P<id>/.*)")
_SELECT = "SELECT value, modified, modified_by FROM service_settings WHERE account = ? AND region = ? AND setting_id = ?"
_UPSERT = (
    "INSERT INTO service_settings (account, region, setting_id, value, modified, modified_by)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (account, region, setting_id) DO UPDATE SET value = excluded.value,"
    " modified = excluded.modified, modified_by = excluded.modified_by"
)


def setting_arn(region: str, account: str, setting_id: str) -> str:
    """``arn:aws:ssm:<region>:<account>:servicesetting/ssm/...`` for a setting id."""
    return f"arn:aws:ssm:{region}:{account}:servicesetting" + (
        setting_id if setting_id.startswith("/") else "/" + setting_id
    )


def _resource(ctx: CallContext, raw: str) -> str:
    """The ARN a request's SettingId is authorized against (an ARN as given)."""
    return raw if raw.startswith("arn:") else setting_arn(ctx.region, ctx.account, raw)


def _known(ctx: CallContext, raw: str) -> tuple[str, SettingSpec]:
    """The setting id and spec a SettingId (id or ARN) names in the caller's
    account and region; ServiceSettingNotFound for anything else."""
    setting_id = raw
    if raw.startswith("arn:"):
        m = _ARN.fullmatch(raw)
        if m is None or m["region"] != ctx.region or m["account"] != ctx.account:
            raise ServiceSettingNotFound()
        setting_id = m["id"]
    spec = SETTINGS.get(setting_id)
    if spec is None:
        raise ServiceSettingNotFound()
    return setting_id, spec


def _check_value(setting_id: str, spec: SettingSpec, value: str) -> None:
    if value in spec.allowed or (spec.pattern is not None and spec.pattern.fullmatch(value)):
        return
    what = spec.what or ", ".join(spec.allowed)
    raise ValidationException(f"The value {value} isn't valid for the setting {setting_id}. Specify {what}.")


async def setting_value(conn: Any, account: str, region: str, setting_id: str) -> str:
    """The current value of a documented setting in ``account`` and ``region``
    (its default when the account never changed it)."""
    row = await conn.fetchone(_SELECT, account, region, setting_id)
    return str(row["value"]) if row is not None else SETTINGS[setting_id].default


async def _wire(ctx: CallContext, setting_id: str, spec: SettingSpec) -> dict[str, Any]:
    """The wire ``ServiceSetting``; a default is dated at the account's creation."""
    row = await ctx.conn.fetchone(_SELECT, ctx.account, ctx.region, setting_id)
    if row is not None:
        value, modified, user, status = row["value"], float(row["modified"]), row["modified_by"], "Customized"
    else:
        created = await ctx.conn.fetchone("SELECT created FROM accounts WHERE id = ?", ctx.account)
        modified = float(created["created"]) if created is not None else float(ctx.now)
        value, user, status = spec.default, SYSTEM_USER, "Default"
    return {
        "SettingId": setting_id,
        "SettingValue": value,
        "LastModifiedDate": to_dt(modified),
        "LastModifiedUser": user,
        "ARN": setting_arn(ctx.region, ctx.account, setting_id),
        "Status": status,
    }


def _check(action: str) -> Any:
    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        return [Check(action, _resource(ctx, req["SettingId"]))]

    return authz


@operation("ssm", "GetServiceSetting", read_only=True, authorize=_check("ssm:GetServiceSetting"))
async def get_service_setting(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """The setting's value and status. ServiceSettingNotFound for an id the model does not list."""
    setting_id, spec = _known(ctx, req["SettingId"])
    return {"ServiceSetting": await _wire(ctx, setting_id, spec)}


@operation("ssm", "UpdateServiceSetting", authorize=_check("ssm:UpdateServiceSetting"))
async def update_service_setting(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Set a value (the setting becomes ``Customized``, even at its default value).

    ServiceSettingNotFound for an unknown id; ValidationException for a value
    the setting does not accept.
    """
    setting_id, spec = _known(ctx, req["SettingId"])
    value: str = req["SettingValue"]
    _check_value(setting_id, spec, value)
    await ctx.conn.execute(
        _UPSERT, ctx.account, ctx.region, setting_id, value, float(ctx.now), ctx.principal.arn
    )
    return {}


@operation("ssm", "ResetServiceSetting", authorize=_check("ssm:ResetServiceSetting"))
async def reset_service_setting(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    """Back to the default: the setting reads ``Default`` / ``System`` again.
    ServiceSettingNotFound for an unknown id."""
    setting_id, spec = _known(ctx, req["SettingId"])
    await ctx.conn.execute(
        "DELETE FROM service_settings WHERE account = ? AND region = ? AND setting_id = ?",
        ctx.account,
        ctx.region,
        setting_id,
    )
    return {"ServiceSetting": await _wire(ctx, setting_id, spec)}
