"""SSM service settings end to end with boto3: GetServiceSetting,
UpdateServiceSetting, ResetServiceSetting, their errors and IAM checks, and
PutParameter following /ssm/parameter-store/default-parameter-tier."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.support.server import NO_RETRY, REGION, Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

TIER = "/ssm/parameter-store/default-parameter-tier"
THROUGHPUT = "/ssm/parameter-store/high-throughput-enabled"
SHARING = "/ssm/documents/console/public-sharing-permission"
NOT_FOUND = (
    "ServiceSettingNotFound",
    "The specified service setting wasn't found. Either the service name or the setting hasn't been "
    "provisioned by the Amazon Web Services service team.",
)
# Every id botocore's model documents, with its default and a value it accepts.
DOCUMENTED = {
    "/ssm/appmanager/appmanager-enabled": ("False", "True"),
    "/ssm/automation/customer-script-log-destination": ("$None", "CloudWatch"),
    "/ssm/automation/customer-script-log-group-name": (
        "/aws/ssm/automation/executeScript",
        "/my/log-group_1",
    ),
    "/ssm/automation/enable-adaptive-concurrency": ("False", "True"),
    SHARING: ("Disable", "Enable"),
    "/ssm/managed-instance/activation-tier": ("standard", "advanced"),
    "/ssm/managed-instance/default-ec2-instance-management-role": ("$None", "service-role/MyRole"),
    "/ssm/opsinsights/opscenter": ("Disabled", "Enabled"),
    TIER: ("Standard", "Advanced"),
    THROUGHPUT: ("false", "true"),
}


def uid() -> str:
    return uuid.uuid4().hex[:10]


def fails(call: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


@pytest.fixture(scope="module")
def ssm(server: Server) -> Any:
    return server.client("ssm")


@pytest.fixture(scope="module")
def identity(server: Server) -> dict[str, Any]:
    return dict(server.client("sts").get_caller_identity())


@pytest.fixture(scope="module")
def account(identity: dict[str, Any]) -> str:
    return str(identity["Account"])


def arn_of(account: str, setting_id: str, region: str = REGION) -> str:
    return f"arn:aws:ssm:{region}:{account}:servicesetting{setting_id}"


def admin_client(server: Server, region: str = REGION, validate: bool = True) -> Any:
    """An administrator's ssm client in ``region`` (without botocore's own checks unless ``validate``)."""
    return boto3.client(
        "ssm",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=server.admin[0],
        aws_secret_access_key=server.admin[1],
        config=NO_RETRY.merge(Config(parameter_validation=validate)),
    )


@pytest.fixture
def reset_after(ssm: Any) -> Iterator[list[str]]:
    """Setting ids a test changes, reset afterwards (the server is shared by the module)."""
    touched: list[str] = []
    yield touched
    for setting_id in touched:
        ssm.reset_service_setting(SettingId=setting_id)


def stored(server: Server, account: str) -> list[tuple[Any, ...]]:
    return server.sql(
        "SELECT region, setting_id, value, modified_by FROM service_settings WHERE account = ?"
        " ORDER BY region, setting_id",
        account,
    )


# ------------------------------------------------------------------ defaults


def test_every_documented_setting_reads_its_default(ssm: Any, account: str) -> None:
    for setting_id, (default, _) in DOCUMENTED.items():
        for ref in (setting_id, arn_of(account, setting_id)):
            s = ssm.get_service_setting(SettingId=ref)["ServiceSetting"]
            assert s["SettingId"] == setting_id
            assert s["ARN"] == arn_of(account, setting_id)
            assert (s["SettingValue"], s["Status"], s["LastModifiedUser"]) == (default, "Default", "System")
            assert isinstance(s["LastModifiedDate"], dt.datetime)


# ------------------------------------------------------------ update / reset


def test_update_get_reset_every_setting(
    server: Server, ssm: Any, account: str, identity: dict[str, Any], reset_after: list[str]
) -> None:
    for setting_id, (default, other) in DOCUMENTED.items():
        reset_after.append(setting_id)
        before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        assert "ServiceSetting" not in ssm.update_service_setting(SettingId=setting_id, SettingValue=other)
        s = ssm.get_service_setting(SettingId=arn_of(account, setting_id))["ServiceSetting"]
        assert (s["SettingId"], s["SettingValue"], s["Status"]) == (setting_id, other, "Customized")
        assert s["LastModifiedUser"] == identity["Arn"]
        assert s["LastModifiedDate"] >= before
        if default != "$None":  # "$None" (no value) is no value to set
            # The default value set explicitly is still a customization.
            ssm.update_service_setting(SettingId=arn_of(account, setting_id), SettingValue=default)
            s = ssm.get_service_setting(SettingId=setting_id)["ServiceSetting"]
            assert (s["SettingValue"], s["Status"]) == (default, "Customized")
        out = ssm.reset_service_setting(SettingId=setting_id)["ServiceSetting"]
        assert (out["SettingId"], out["ARN"]) == (setting_id, arn_of(account, setting_id))
        assert (out["SettingValue"], out["Status"], out["LastModifiedUser"]) == (default, "Default", "System")
        s = ssm.get_service_setting(SettingId=setting_id)["ServiceSetting"]
        assert (s["SettingValue"], s["Status"], s["LastModifiedUser"]) == (default, "Default", "System")
    assert stored(server, account) == []
    # Resetting a setting at its default is no error.
    assert ssm.reset_service_setting(SettingId=THROUGHPUT)["ServiceSetting"]["Status"] == "Default"


def test_settings_are_per_region(server: Server, ssm: Any, account: str, reset_after: list[str]) -> None:
    reset_after.append(THROUGHPUT)
    ssm.update_service_setting(SettingId=THROUGHPUT, SettingValue="true")
    west = admin_client(server, region="eu-west-1")
    s = west.get_service_setting(SettingId=THROUGHPUT)["ServiceSetting"]
    assert (s["SettingValue"], s["Status"], s["ARN"]) == (
        "false",
        "Default",
        arn_of(account, THROUGHPUT, "eu-west-1"),
    )
    # An ARN names its own region: another region's setting is not this region's to read.
    assert fails(west.get_service_setting, SettingId=arn_of(account, THROUGHPUT)) == NOT_FOUND
    assert ssm.get_service_setting(SettingId=THROUGHPUT)["ServiceSetting"]["SettingValue"] == "true"
    assert stored(server, account) == [
        (REGION, THROUGHPUT, "true", server.client("sts").get_caller_identity()["Arn"])
    ]


# -------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "ref",
    [
        "/ssm/parameter-store/no-such-setting",
        "ssm/parameter-store/default-parameter-tier",  # an id starts with "/"
        "/SSM/parameter-store/default-parameter-tier",
        "arn:aws:ssm:us-east-1:{account}:servicesetting/ssm/nope",
        "arn:aws:ssm:us-east-1:000000000000:servicesetting/ssm/parameter-store/default-parameter-tier",
        "arn:aws:ssm:us-east-1:{account}:parameter/ssm/parameter-store/default-parameter-tier",
    ],
)
def test_unknown_setting_is_not_found(server: Server, ssm: Any, account: str, ref: str) -> None:
    ref = ref.format(account=account)
    assert fails(ssm.get_service_setting, SettingId=ref) == NOT_FOUND
    assert fails(ssm.update_service_setting, SettingId=ref, SettingValue="Advanced") == NOT_FOUND
    assert fails(ssm.reset_service_setting, SettingId=ref) == NOT_FOUND
    assert stored(server, account) == []


@pytest.mark.parametrize(
    ("setting_id", "value", "accepts"),
    [
        (TIER, "Premium", "Standard, Advanced, Intelligent-Tiering"),
        (TIER, "standard", "Standard, Advanced, Intelligent-Tiering"),
        (THROUGHPUT, "True", "true, false"),
        (THROUGHPUT, "yes", "true, false"),
        (SHARING, "Enabled", "Enable, Disable"),
        ("/ssm/opsinsights/opscenter", "Enable", "Enabled, Disabled"),
        ("/ssm/managed-instance/activation-tier", "Advanced", "standard, advanced"),
        ("/ssm/appmanager/appmanager-enabled", "true", "True, False"),
        ("/ssm/automation/customer-script-log-destination", "S3", "CloudWatch"),
        ("/ssm/automation/customer-script-log-group-name", "bad name!", "a CloudWatch Logs log group name"),
        ("/ssm/managed-instance/default-ec2-instance-management-role", "a" * 65, "the name of an IAM role"),
        (
            "/ssm/managed-instance/default-ec2-instance-management-role",
            "role name",
            "the name of an IAM role",
        ),
    ],
)
def test_bad_value_is_validation_exception(
    server: Server, ssm: Any, account: str, setting_id: str, value: str, accepts: str
) -> None:
    code, msg = fails(ssm.update_service_setting, SettingId=setting_id, SettingValue=value)
    assert (code, msg) == (
        "ValidationException",
        f"The value {value} isn't valid for the setting {setting_id}. Specify {accepts}.",
    )
    assert stored(server, account) == []
    assert ssm.get_service_setting(SettingId=setting_id)["ServiceSetting"]["Status"] == "Default"


def test_model_constraints(server: Server) -> None:
    ssm = admin_client(server, validate=False)
    code, msg = fails(ssm.update_service_setting, SettingId=TIER, SettingValue="")
    assert code == "ValidationException" and "settingValue" in msg
    code, msg = fails(ssm.get_service_setting, SettingId="/" + "a" * 1000)
    assert code == "ValidationException" and "Member must have length less than or equal to 1000" in msg


# ------------------------------------------------------------- authorization


def make_user(server: Server, statements: list[dict[str, Any]]) -> tuple[str, str]:
    iam = server.client("iam")
    name = f"u{uid()}"
    iam.create_user(UserName=name)
    if statements:
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_user_without_permission_is_denied_and_nothing_changes(
    server: Server, ssm: Any, account: str, reset_after: list[str]
) -> None:
    reset_after.append(SHARING)
    ssm.update_service_setting(SettingId=SHARING, SettingValue="Enable")
    before = stored(server, account)
    creds = make_user(server, [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}])
    user = server.client("ssm", creds=creds)
    arn = arn_of(account, SHARING)
    for call, kw, action in (
        (user.get_service_setting, {}, "GetServiceSetting"),
        (user.update_service_setting, {"SettingValue": "Disable"}, "UpdateServiceSetting"),
        (user.reset_service_setting, {}, "ResetServiceSetting"),
    ):
        code, msg = fails(call, SettingId=SHARING, **kw)
        assert code == "AccessDeniedException"
        assert msg.startswith("User: arn:aws:iam::")
        assert f"is not authorized to perform: ssm:{action} on resource: {arn}" in msg
        # Named by ARN, the same resource is checked.
        assert fails(call, SettingId=arn, **kw)[0] == "AccessDeniedException"
    assert stored(server, account) == before
    s = ssm.get_service_setting(SettingId=SHARING)["ServiceSetting"]
    assert (s["SettingValue"], s["Status"]) == ("Enable", "Customized")
    denied = server.sql(
        "SELECT COUNT(*) FROM audit_events WHERE event_name = ? AND access_key_id = ? AND error_code = ?",
        "UpdateServiceSetting",
        creds[0],
        "AccessDeniedException",
    )
    assert denied[0][0] == 2


def test_permission_on_one_setting_arn_only(
    server: Server, account: str, identity: dict[str, Any], reset_after: list[str]
) -> None:
    reset_after.extend([THROUGHPUT, TIER])
    creds = make_user(
        server,
        [
            {
                "Effect": "Allow",
                "Action": ["ssm:GetServiceSetting", "ssm:UpdateServiceSetting", "ssm:ResetServiceSetting"],
                "Resource": f"arn:aws:ssm:{REGION}:{account}:servicesetting/ssm/parameter-store/high-throughput-*",
            }
        ],
    )
    user = server.client("ssm", creds=creds)
    user.update_service_setting(SettingId=THROUGHPUT, SettingValue="true")
    s = user.get_service_setting(SettingId=arn_of(account, THROUGHPUT))["ServiceSetting"]
    assert s["SettingValue"] == "true"
    assert s["LastModifiedUser"].startswith(f"arn:aws:iam::{account}:user/u")
    assert s["LastModifiedUser"] != identity["Arn"]
    assert (
        fails(user.update_service_setting, SettingId=TIER, SettingValue="Advanced")[0]
        == "AccessDeniedException"
    )
    assert fails(user.get_service_setting, SettingId=TIER)[0] == "AccessDeniedException"
    assert user.reset_service_setting(SettingId=THROUGHPUT)["ServiceSetting"]["Status"] == "Default"
    assert stored(server, account) == []


def test_changes_are_audited(server: Server, ssm: Any, account: str, reset_after: list[str]) -> None:
    reset_after.append(THROUGHPUT)
    ssm.update_service_setting(SettingId=THROUGHPUT, SettingValue="true")
    ssm.reset_service_setting(SettingId=THROUGHPUT)
    arn = arn_of(account, THROUGHPUT)
    for name in ("UpdateServiceSetting", "ResetServiceSetting"):
        rows = server.sql(
            "SELECT e.record FROM audit_events e JOIN audit_resources r ON r.event_id = e.event_id"
            " WHERE e.event_name = ? AND r.resource_name = ? AND e.error_code IS NULL",
            name,
            arn,
        )
        assert rows, name
        record = json.loads(rows[-1][0])
        assert record["eventSource"] == "ssm.amazonaws.com"
        assert record["requestParameters"]["settingId"] == THROUGHPUT
        assert record["readOnly"] is False


# ------------------------------------------------- PutParameter default tier


def test_put_parameter_without_tier_follows_default_tier(
    server: Server, ssm: Any, account: str, reset_after: list[str]
) -> None:
    reset_after.append(TIER)
    prefix = f"/deftier/{uid()}"
    assert ssm.put_parameter(Name=f"{prefix}/a", Value="x", Type="String")["Tier"] == "Standard"
    ssm.update_service_setting(SettingId=TIER, SettingValue="Advanced")
    assert ssm.put_parameter(Name=f"{prefix}/b", Value="x", Type="String")["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{prefix}/b"]}])
    assert meta["Parameters"][0]["Tier"] == "Advanced"
    # A Tier in the request wins over the setting.
    assert (
        ssm.put_parameter(Name=f"{prefix}/c", Value="x", Type="String", Tier="Standard")["Tier"] == "Standard"
    )
    ssm.update_service_setting(SettingId=TIER, SettingValue="Intelligent-Tiering")
    assert ssm.put_parameter(Name=f"{prefix}/d", Value="x", Type="String")["Tier"] == "Standard"
    assert ssm.put_parameter(Name=f"{prefix}/e", Value="x" * 5000, Type="String")["Tier"] == "Advanced"
    ssm.reset_service_setting(SettingId=TIER)
    assert ssm.put_parameter(Name=f"{prefix}/f", Value="x", Type="String")["Tier"] == "Standard"
    code, msg = fails(ssm.put_parameter, Name=f"{prefix}/g", Value="x" * 5000, Type="String")
    assert code == "ValidationException" and msg.startswith("Standard tier parameters support a maximum")
