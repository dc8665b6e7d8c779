"""Parameter Store end to end with boto3 (admin caller): every operation and its AWS errors."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

# Every test here runs against SQLite and PostgreSQL (tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def ssm(server: Server) -> Any:
    return server.client("ssm")


def uid() -> str:
    return uuid.uuid4().hex[:10]


def err(e: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


def fails(call: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return err(e)


def events(server: Server, name: str) -> list[tuple[str, dict[str, Any]]]:
    rows = server.sql("SELECT detail_type, detail FROM outbox WHERE source = 'aws.ssm' ORDER BY id")
    out = []
    for dt, detail in rows:
        d = json.loads(detail)
        if d.get("name") == name or d.get("parameter-name") == name:
            out.append((dt, d))
    return out


# ------------------------------------------------------------------ put / get


def test_put_get_overwrite_and_events(server: Server, ssm: Any) -> None:
    name = f"/app/{uid()}/db"
    out = ssm.put_parameter(Name=name, Value="v1", Type="String", Description="d")
    assert (out["Version"], out["Tier"]) == (1, "Standard")
    p = ssm.get_parameter(Name=name)["Parameter"]
    assert (p["Name"], p["Type"], p["Value"], p["Version"], p["DataType"]) == (
        name,
        "String",
        "v1",
        1,
        "text",
    )
    assert p["ARN"].endswith(f":parameter{name}")
    assert fails(ssm.put_parameter, Name=name, Value="v2", Type="String") == (
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    )
    assert ssm.put_parameter(Name=name, Value="v2", Overwrite=True)["Version"] == 2
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "v2"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
    assert meta["Description"] == "d"  # kept on overwrite
    ops = [d["operation"] for t, d in events(server, name) if t == "Parameter Store Change"]
    assert ops == ["Create", "Update"]
    assert all(
        "value" not in json.dumps(d).lower() or "v1" not in json.dumps(d) for _, d in events(server, name)
    )


def test_get_missing_and_selectors(ssm: Any) -> None:
    name = f"/sel/{uid()}"
    code, msg = fails(ssm.get_parameter, Name=name)
    assert (code, msg) == ("ParameterNotFound", f"Parameter {name} not found.")
    ssm.put_parameter(Name=name, Value="one", Type="String")
    ssm.put_parameter(Name=name, Value="two", Type="String", Overwrite=True)
    p = ssm.get_parameter(Name=f"{name}:1")["Parameter"]
    assert (p["Value"], p["Version"], p["Selector"]) == ("one", 1, ":1")
    code, msg = fails(ssm.get_parameter, Name=f"{name}:9")
    assert code == "ParameterVersionNotFound"
    assert msg == f"Systems Manager could not find version 9 of {name}. Verify the version and try again."
    huge = 10**20  # past any version the database can hold
    assert fails(ssm.get_parameter, Name=f"{name}:{huge}")[0] == "ParameterVersionNotFound"
    assert ssm.get_parameters(Names=[f"{name}:{huge}"])["InvalidParameters"] == [f"{name}:{huge}"]
    assert fails(ssm.label_parameter_version, Name=name, ParameterVersion=2**63 - 1, Labels=["x"])[0] == (
        "ParameterVersionNotFound"
    )
    assert fails(ssm.label_parameter_version, Name=name, ParameterVersion=2**63, Labels=["x"])[0] == (
        "SerializationException"
    )
    assert (
        ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["stable"])["ParameterVersion"] == 1
    )
    p = ssm.get_parameter(Name=f"{name}:stable")["Parameter"]
    assert (p["Value"], p["Selector"]) == ("one", ":stable")
    assert fails(ssm.get_parameter, Name=f"{name}:nolabel")[0] == "ParameterNotFound"
    arn = ssm.get_parameter(Name=name)["Parameter"]["ARN"]
    assert ssm.get_parameter(Name=arn)["Parameter"]["Value"] == "two"


def test_get_parameters_invalid_and_selectors(ssm: Any) -> None:
    n1, n2 = f"/gp/{uid()}", f"/gp/{uid()}"
    ssm.put_parameter(Name=n1, Value="a", Type="String")
    ssm.put_parameter(Name=n2, Value="b,c", Type="StringList")
    out = ssm.get_parameters(Names=[n1, n2, f"{n1}:1", f"{n1}:5", "/gp/missing"])
    assert sorted(p["Name"] for p in out["Parameters"]) == sorted([n1, n1, n2])
    assert sorted(out["InvalidParameters"]) == sorted([f"{n1}:5", "/gp/missing"])


@pytest.mark.parametrize(
    ("kw", "code", "msg"),
    [
        (
            {"Name": "awsThing"},
            "ValidationException",
            'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).',
        ),
        ({"Name": "/ssm/x"}, "ValidationException", "If formed as a path"),
        ({"Name": "a/b"}, "ValidationException", "Parameter name must be a fully qualified name."),
        ({"Name": "/bad name"}, "ValidationException", "If formed as a path"),
        (
            {"Name": "/" + "/".join(["l"] * 16)},
            "HierarchyLevelLimitExceededException",
            "maximum of 15 levels",
        ),
        ({"Name": "/aws/x"}, "AccessDeniedException", "No access to reserved parameter name: /aws/x."),
        (
            {"Tags": [{"Key": "k", "Value": "v"}], "Overwrite": True},
            "ValidationException",
            "tags and overwrite can't be used together",
        ),
        (
            {"Tags": [{"Key": "AWS:team", "Value": "v"}]},
            "ValidationException",
            'Tag keys starting with "aws:" are reserved for AWS use.',
        ),
        (
            {"AllowedPattern": "^\\d+$", "Value": "abc"},
            "ParameterPatternMismatchException",
            "Parameter value, cannot be validated against allowedPattern: ^\\d+$",
        ),
        ({"AllowedPattern": "(", "Value": "abc"}, "InvalidAllowedPatternException", "regular expression"),
        (
            {"KeyId": "alias/aws/ssm"},
            "ValidationException",
            "KeyId is required for SecureString type parameter only.",
        ),
        ({"DataType": "aws:ec2:image", "Value": "ami-123"}, "ValidationException", "aws:ec2:image"),
        (
            {"DataType": "aws:ec2:image", "Value": "ami-12345678", "Type": "StringList"},
            "UnsupportedParameterType",
            "aws:ec2:image",
        ),
        ({"DataType": "Text"}, "ValidationException", "The following data type is not supported: Text"),
        (
            {"Value": "x" * 4097},
            "ValidationException",
            "Standard tier parameters support a maximum parameter value of 4096",
        ),
        ({"Value": "x" * 8193, "Tier": "Advanced"}, "ValidationException", "8192"),
        (
            {"Value": "x{{ssm:/other}}y"},
            "ValidationException",
            'Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.',
        ),
        (
            {"Value": "a {{\n}} b", "Type": "SecureString"},
            "ValidationException",
            "can't nest another parameter",
        ),
        ({"Type": None}, "ValidationException", "A parameter type is required"),
        ({"Type": "StringList", "Value": "a,,b"}, "ValidationException", "StringList"),
        ({"Policies": "[]x"}, "ValidationException", "policies"),
        (
            {"Tier": "Advanced", "Policies": '[{"Type":"Bogus","Version":"1.0","Attributes":{}}]'},
            "InvalidPolicyTypeException",
            "Bogus",
        ),
        (
            {
                "Tier": "Advanced",
                "Policies": '[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"x"}}]',
            },
            "InvalidPolicyAttributeException",
            "After",
        ),
        (
            {
                "Tier": "Advanced",
                "Policies": json.dumps(
                    [{"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "1"}}] * 11
                ),
            },
            "PoliciesLimitExceededException",
            "maximum is 10",
        ),
        (
            {
                "Tier": "Advanced",
                "Policies": json.dumps(
                    [{"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "1"}}] * 2
                ),
            },
            "IncompatiblePolicyException",
            "There is a conflict in the policies specified for this parameter.",
        ),
        (
            {
                "Tier": "Standard",
                "Policies": '[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"1"}}]',
            },
            "ValidationException",
            "policies",
        ),
    ],
)
def test_put_errors(ssm: Any, kw: dict[str, Any], code: str, msg: str) -> None:
    args: dict[str, Any] = {"Name": f"/err/{uid()}", "Value": "v", "Type": "String", **kw}
    if args["Type"] is None:
        del args["Type"]
    c, m = fails(ssm.put_parameter, **args)
    assert c == code
    assert msg in m
    if not args["Name"].startswith(("/aws", "aws", "/ssm")) and args["Name"].startswith("/err/"):
        assert fails(ssm.get_parameter, Name=args["Name"])[0] == "ParameterNotFound"


def test_type_change_refused(ssm: Any) -> None:
    name = f"/tc/{uid()}"
    ssm.put_parameter(Name=name, Value="a", Type="String")
    assert fails(ssm.put_parameter, Name=name, Value="a", Type="StringList", Overwrite=True)[0] == (
        "HierarchyTypeMismatchException"
    )


def test_data_type_ami(ssm: Any) -> None:
    name = f"/ami/{uid()}"
    ssm.put_parameter(Name=name, Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image")
    assert ssm.get_parameter(Name=name)["Parameter"]["DataType"] == "aws:ec2:image"


def test_data_type_ssm_integration(ssm: Any) -> None:
    # botocore's model lists aws:ssm:integration among PutParameter's data types (webhook secrets).
    name = f"/d9d01087-4a3f-49e0-b0b4-d568d7826553/ssm/integrations/webhook/{uid()}"
    value = json.dumps({"description": "hook", "url": "https://example.com/hook"})
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", DataType="aws:ssm:integration")
    p = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert (p["DataType"], p["Value"]) == ("aws:ssm:integration", value)
    got = ssm.describe_parameters(ParameterFilters=[{"Key": "DataType", "Values": ["aws:ssm:integration"]}])
    assert name in [m["Name"] for m in got["Parameters"]]
    code, msg = fails(
        ssm.put_parameter, Name=f"{name}x", Value=value, Type="String", DataType="aws:ssm:integration"
    )
    assert code == "UnsupportedParameterType" and "aws:ssm:integration" in msg


def test_allowed_pattern_kept_on_overwrite(ssm: Any) -> None:
    name = f"/pat/{uid()}"
    ssm.put_parameter(Name=name, Value="123", Type="String", AllowedPattern="^\\d+$")
    assert (
        fails(ssm.put_parameter, Name=name, Value="abc", Overwrite=True)[0]
        == "ParameterPatternMismatchException"
    )


# ------------------------------------------------------------------ tiers


def test_tiers(ssm: Any) -> None:
    n = f"/tier/{uid()}"
    assert (
        ssm.put_parameter(Name=n, Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")["Tier"]
        == "Advanced"
    )
    code, msg = fails(ssm.put_parameter, Name=n, Value="x", Tier="Standard", Overwrite=True)
    assert code == "ValidationException" and "can't downgrade" in msg
    # Unspecified tier on an Advanced parameter keeps Advanced.
    assert ssm.put_parameter(Name=n, Value="y", Overwrite=True)["Tier"] == "Advanced"
    small = f"/tier/{uid()}"
    assert (
        ssm.put_parameter(Name=small, Value="x", Type="String", Tier="Intelligent-Tiering")["Tier"]
        == "Standard"
    )


# ------------------------------------------------------------------ delete


def test_delete(server: Server, ssm: Any) -> None:
    name = f"/del/{uid()}"
    ssm.put_parameter(Name=name, Value="a", Type="String", Tags=[{"Key": "k", "Value": "v"}])
    ssm.delete_parameter(Name=name)
    assert fails(ssm.get_parameter, Name=name)[0] == "ParameterNotFound"
    assert fails(ssm.delete_parameter, Name=name) == ("ParameterNotFound", f"Parameter {name} not found.")
    assert [d["operation"] for _, d in events(server, name)] == ["Create", "Delete"]
    # Re-created: a fresh parameter (version 1, no tags).
    ssm.put_parameter(Name=name, Value="b", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 1
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == []
    out = ssm.delete_parameters(Names=[name, "/del/none"])
    assert (out["DeletedParameters"], out["InvalidParameters"]) == ([name], ["/del/none"])


# ------------------------------------------------------------------ history and labels


def test_history_and_labels(server: Server, ssm: Any) -> None:
    name = f"/hist/{uid()}"
    for i in range(4):
        ssm.put_parameter(Name=name, Value=f"v{i + 1}", Type="String", Overwrite=i > 0)
    out = ssm.label_parameter_version(
        Name=name, ParameterVersion=2, Labels=["blue", "1bad", "awsx", "Ssm-y", "a b"]
    )
    assert sorted(out["InvalidLabels"]) == sorted(["1bad", "awsx", "Ssm-y", "a b"])
    # Labels move between versions.
    ssm.label_parameter_version(Name=name, ParameterVersion=3, Labels=["blue"])
    ssm.label_parameter_version(Name=name, Labels=["green"])  # the current version
    hist = ssm.get_parameter_history(Name=name, MaxResults=3)
    assert [h["Version"] for h in hist["Parameters"]] == [1, 2, 3]
    assert [h["Labels"] for h in hist["Parameters"]] == [[], [], ["blue"]]
    rest = ssm.get_parameter_history(Name=name, NextToken=hist["NextToken"])
    assert [(h["Version"], h["Labels"], h["Value"]) for h in rest["Parameters"]] == [(4, ["green"], "v4")]
    assert "NextToken" not in rest
    labels = [f"l{i}" for i in range(10)]
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=labels)
    code, _ = fails(ssm.label_parameter_version, Name=name, ParameterVersion=1, Labels=["one-more"])
    assert code == "ParameterVersionLabelLimitExceeded"
    assert (
        fails(ssm.label_parameter_version, Name=name, ParameterVersion=9, Labels=["x"])[0]
        == "ParameterVersionNotFound"
    )
    assert fails(ssm.label_parameter_version, Name=name + "x", Labels=["x"])[0] == "ParameterNotFound"
    out = ssm.unlabel_parameter_version(Name=name, ParameterVersion=1, Labels=["l0", "nope"])
    assert (out["RemovedLabels"], out["InvalidLabels"]) == (["l0"], ["nope"])
    assert (
        fails(ssm.unlabel_parameter_version, Name=name, ParameterVersion=9, Labels=["x"])[0]
        == "ParameterVersionNotFound"
    )
    assert fails(ssm.get_parameter_history, Name=name, NextToken="garbage!")[0] == "InvalidNextToken"
    assert fails(ssm.get_parameter_history, Name=name + "x")[0] == "ParameterNotFound"
    assert "LabelParameterVersion" in [d["operation"] for _, d in events(server, name)]


def test_hundred_versions(ssm: Any) -> None:
    name = f"/ver/{uid()}"
    ssm.put_parameter(Name=name, Value="0", Type="String")
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["first"])
    for i in range(99):
        ssm.put_parameter(Name=name, Value=str(i + 1), Overwrite=True)
    code, msg = fails(ssm.put_parameter, Name=name, Value="x", Overwrite=True)
    assert code == "ParameterMaxVersionLimitExceeded"
    assert "Version 1, the oldest version, can't be deleted because it has a label" in msg
    ssm.label_parameter_version(Name=name, ParameterVersion=100, Labels=["first"])
    assert ssm.put_parameter(Name=name, Value="x", Overwrite=True)["Version"] == 101
    versions = []
    token = None
    while True:
        page = ssm.get_parameter_history(Name=name, **({"NextToken": token} if token else {}))
        versions += [h["Version"] for h in page["Parameters"]]
        token = page.get("NextToken")
        if not token:
            break
    assert versions == list(range(2, 102))
    assert fails(ssm.get_parameter, Name=f"{name}:1")[0] == "ParameterVersionNotFound"


# ------------------------------------------------------------------ tags


def test_tags(ssm: Any) -> None:
    name = f"/tag/{uid()}"
    ssm.put_parameter(Name=name, Value="a", Type="String", Tags=[{"Key": "team", "Value": "x"}])
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "env", "Value": "prod"}]
    )
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "x"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["team"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [
        {"Key": "env", "Value": "prod"}
    ]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert (
        fails(ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=name, Tags=many)[0]
        == "TooManyTagsError"
    )
    assert fails(
        ssm.add_tags_to_resource,
        ResourceType="Parameter",
        ResourceId=name,
        Tags=[{"Key": "aws:x", "Value": "v"}],
    ) == ("ValidationException", 'Tag keys starting with "aws:" are reserved for AWS use.')
    assert (
        fails(ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId="/tag/none")[0]
        == "InvalidResourceId"
    )
    assert (
        fails(ssm.list_tags_for_resource, ResourceType="PatchBaseline", ResourceId="pb-1")[0]
        == "InvalidResourceType"
    )


# ------------------------------------------------------------------ queries


@pytest.fixture(scope="module")
def tree(ssm: Any) -> Iterator[str]:
    root = f"/q{uid()}"
    ssm.put_parameter(Name=f"{root}/a", Value="1", Type="String", Tags=[{"Key": "env", "Value": "prod"}])
    ssm.put_parameter(Name=f"{root}/b", Value="2,3", Type="StringList")
    ssm.put_parameter(Name=f"{root}/s", Value="sec", Type="SecureString")
    ssm.put_parameter(Name=f"{root}/sub/c", Value="4", Type="String", Tier="Advanced")
    ssm.put_parameter(
        Name=f"{root}/sub/deep/d", Value="5", Type="String", Tags=[{"Key": "env", "Value": "dev"}]
    )
    ssm.label_parameter_version(Name=f"{root}/a", Labels=["live"])
    yield root


def names(params: list[dict[str, Any]]) -> list[str]:
    return sorted(p["Name"] for p in params)


def test_by_path(ssm: Any, tree: str) -> None:
    r = tree
    assert names(ssm.get_parameters_by_path(Path=r)["Parameters"]) == [f"{r}/a", f"{r}/b", f"{r}/s"]
    assert names(ssm.get_parameters_by_path(Path=r + "/", Recursive=True)["Parameters"]) == sorted(
        [f"{r}/a", f"{r}/b", f"{r}/s", f"{r}/sub/c", f"{r}/sub/deep/d"]
    )
    out = ssm.get_parameters_by_path(
        Path=r, ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}], WithDecryption=True
    )
    assert [(p["Name"], p["Value"]) for p in out["Parameters"]] == [(f"{r}/s", "sec")]
    out = ssm.get_parameters_by_path(
        Path=r, Recursive=True, ParameterFilters=[{"Key": "Label", "Values": ["live"]}]
    )
    assert names(out["Parameters"]) == [f"{r}/a"]
    code, msg = fails(ssm.get_parameters_by_path, Path=r, ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert (code, msg) == (
        "InvalidFilterKey",
        "The following filter key is not valid: Name. Valid filter keys include: [Type, KeyId].",
    )
    assert fails(ssm.get_parameters_by_path, Path="noslash")[0] == "ValidationException"
    assert fails(ssm.get_parameters_by_path, Path=r, NextToken="%%%")[0] == "InvalidNextToken"
    assert (
        fails(
            ssm.get_parameters_by_path,
            Path=r,
            ParameterFilters=[{"Key": "Type", "Option": "Contains", "Values": ["String"]}],
        )[0]
        == "InvalidFilterOption"
    )


def test_describe_filters(ssm: Any, tree: str) -> None:
    r = tree

    def d(**kw: Any) -> list[str]:
        return names(ssm.describe_parameters(MaxResults=50, **kw)["Parameters"])

    assert d(ParameterFilters=[{"Key": "Path", "Values": [r]}]) == [f"{r}/a", f"{r}/b", f"{r}/s"]
    assert d(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [r + "/sub"]}]) == [
        f"{r}/sub/c",
        f"{r}/sub/deep/d",
    ]
    assert d(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{r}/sub/"]}]) == [
        f"{r}/sub/c",
        f"{r}/sub/deep/d",
    ]
    assert d(ParameterFilters=[{"Key": "Name", "Values": [f"{r}/a"]}]) == [f"{r}/a"]
    assert d(ParameterFilters=[{"Key": "Name", "Values": [f"{r}/a".lstrip("/")]}]) == [f"{r}/a"]
    assert d(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": [r[1:] + "/sub/de"]}]) == [
        f"{r}/sub/deep/d"
    ]
    pr = [{"Key": "Path", "Option": "Recursive", "Values": [r]}]
    assert d(ParameterFilters=[*pr, {"Key": "Type", "Values": ["StringList", "SecureString"]}]) == [
        f"{r}/b",
        f"{r}/s",
    ]
    assert d(ParameterFilters=[*pr, {"Key": "Tier", "Values": ["Advanced"]}]) == [f"{r}/sub/c"]
    assert d(ParameterFilters=[*pr, {"Key": "KeyId", "Values": ["alias/aws/ssm"]}]) == [f"{r}/s"]
    assert d(ParameterFilters=[*pr, {"Key": "DataType", "Values": ["text"]}]) == sorted(
        [f"{r}/a", f"{r}/b", f"{r}/s", f"{r}/sub/c", f"{r}/sub/deep/d"]
    )
    assert d(ParameterFilters=[*pr, {"Key": "tag:env", "Values": ["prod"]}]) == [f"{r}/a"]
    assert d(ParameterFilters=[*pr, {"Key": "tag:env"}]) == [f"{r}/a", f"{r}/sub/deep/d"]
    assert d(ParameterFilters=[*pr, {"Key": "tag:env", "Option": "BeginsWith", "Values": ["d"]}]) == [
        f"{r}/sub/deep/d"
    ]
    assert d(Filters=[{"Key": "Name", "Values": [f"{r}/sub"]}]) == [f"{r}/sub/c", f"{r}/sub/deep/d"]
    assert d(Filters=[{"Key": "Name", "Values": [f"{r}/"]}, {"Key": "Type", "Values": ["SecureString"]}]) == [
        f"{r}/s"
    ]
    assert d(Shared=True) == []
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{r}/s"]}])["Parameters"][0]
    assert meta["KeyId"] == "alias/aws/ssm" and meta["Type"] == "SecureString" and meta["Tier"] == "Standard"
    assert meta["LastModifiedUser"].startswith("arn:aws:iam::")


@pytest.mark.parametrize(
    ("kw", "code", "msg"),
    [
        ({"ParameterFilters": [{"Key": "Label", "Values": ["x"]}]}, "InvalidFilterKey", "Label"),
        ({"ParameterFilters": [{"Key": "Type", "Values": ["Bogus"]}]}, "InvalidFilterValue", "Bogus"),
        ({"ParameterFilters": [{"Key": "Tier", "Values": ["Gold"]}]}, "InvalidFilterValue", "Gold"),
        (
            {"ParameterFilters": [{"Key": "Name"}]},
            "InvalidFilterValue",
            "The following filter values are missing : null for filter key Name.",
        ),
        (
            {"ParameterFilters": [{"Key": "Path", "Option": "Equals", "Values": ["/a"]}]},
            "InvalidFilterOption",
            "[Recursive, OneLevel]",
        ),
        (
            {"ParameterFilters": [{"Key": "Type", "Option": "Contains", "Values": ["String"]}]},
            "InvalidFilterOption",
            "The following filter option is not valid: Contains. Valid options include: [BeginsWith, Equals].",
        ),
        (
            {"ParameterFilters": [{"Key": "Name", "Option": "option", "Values": ["x"]}]},
            "InvalidFilterOption",
            "The following filter option is not valid: option. Valid options include: [BeginsWith, Equals].",
        ),
        (
            {
                "ParameterFilters": [
                    {"Key": "Type", "Values": ["String"]},
                    {"Key": "Type", "Values": ["String"]},
                ]
            },
            "InvalidFilterKey",
            "duplicated",
        ),
        (
            {"ParameterFilters": [{"Key": "Path", "Values": ["noslash"]}]},
            "ValidationException",
            "must begin with a forward slash",
        ),
        (
            {
                "ParameterFilters": [{"Key": "Type", "Values": ["String"]}],
                "Filters": [{"Key": "Type", "Values": ["String"]}],
            },
            "ValidationException",
            "either Filters or ParameterFilters",
        ),
        ({"NextToken": "bm90LWpzb24"}, "InvalidNextToken", "token"),
        # AWS's order of checks: missing values before a duplicate key, a bad value before a bad option.
        (
            {"ParameterFilters": [{"Key": "Name", "Values": ["a"]}, {"Key": "Name"}]},
            "InvalidFilterValue",
            "The following filter values are missing : null for filter key Name.",
        ),
        (
            {"ParameterFilters": [{"Key": "Tier", "Option": "Contains", "Values": ["Gold"]}]},
            "InvalidFilterValue",
            "The following filter value is not valid: Gold. Valid values include: [Standard, Advanced, Intelligent-Tiering].",
        ),
    ],
)
def test_describe_errors(ssm: Any, kw: dict[str, Any], code: str, msg: str) -> None:
    c, m = fails(ssm.describe_parameters, **kw)
    assert c == code and msg in m


# ------------------------------------------------------------------ policies


def test_policies_worker(server: Server, ssm: Any) -> None:
    name = f"/pol/{uid()}"
    future = time.time() + 3 * 86400
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(future))
    policies = [
        {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": stamp}},
        {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "1", "Unit": "Days"}},
        {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "1", "Unit": "Hours"}},
    ]
    out = ssm.put_parameter(
        Name=name, Value="v", Type="String", Tier="Intelligent-Tiering", Policies=json.dumps(policies)
    )
    assert out["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
    assert [(p["PolicyType"], p["PolicyStatus"]) for p in meta["Policies"]] == [
        ("Expiration", "Pending"),
        ("ExpirationNotification", "Pending"),
        ("NoChangeNotification", "Pending"),
    ]

    def wait_for(kind: str) -> dict[str, Any]:
        deadline = time.time() + 10
        while time.time() < deadline:
            hits = [
                d
                for t, d in events(server, name)
                if t == "Parameter Store Policy Action" and d["policy-type"] == kind
            ]
            if hits:
                return hits[0]
            time.sleep(0.2)
        raise AssertionError(f"no {kind} event")

    try:
        server.admin_post("/_fleetward/clock", b'{"offset": 7200}')
        assert wait_for("NoChangeNotification")["action-status"] == "Finished"
        server.admin_post("/_fleetward/clock", b'{"offset": 180000}')
        wait_for("ExpirationNotification")
        server.admin_post("/_fleetward/clock", b'{"offset": 270000}')
        wait_for("Expiration")
        server.admin_post("/_fleetward/clock", b'{"offset": 0}')
        assert fails(ssm.get_parameter, Name=name)[0] == "ParameterNotFound"
        assert "Delete" in [
            d.get("operation") for t, d in events(server, name) if t == "Parameter Store Change"
        ]
    finally:
        server.admin_post("/_fleetward/clock", b'{"offset": 0}')


def test_policies_kept_on_overwrite_until_new_or_empty_policies(server: Server, ssm: Any) -> None:
    # AWS: "All existing policies are preserved until you send new policies or an empty policy."
    name = f"/polkeep/{uid()}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3 * 86400))
    policies = [
        {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": stamp}},
        {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "2", "Unit": "Days"}},
        {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "1", "Unit": "Hours"}},
    ]
    ssm.put_parameter(Name=name, Value="v1", Type="String", Tier="Advanced", Policies=json.dumps(policies))

    def status() -> list[tuple[str, str]]:
        meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
        return [(p["PolicyType"], p["PolicyStatus"]) for p in meta["Policies"]]

    def fired(kind: str) -> int:
        return len(
            [
                d
                for t, d in events(server, name)
                if t == "Parameter Store Policy Action" and d["policy-type"] == kind
            ]
        )

    try:
        server.admin_post("/_fleetward/clock", b'{"offset": 90000}')  # both notifications are due
        deadline = time.time() + 10
        while time.time() < deadline and not (
            fired("ExpirationNotification") and fired("NoChangeNotification")
        ):
            time.sleep(0.2)
    finally:
        server.admin_post("/_fleetward/clock", b'{"offset": 0}')
    assert status() == [
        ("Expiration", "Pending"),
        ("ExpirationNotification", "Finished"),
        ("NoChangeNotification", "Finished"),
    ]
    # An update without Policies keeps them; the change restarts NoChangeNotification only.
    assert ssm.put_parameter(Name=name, Value="v2", Overwrite=True)["Version"] == 2
    assert status() == [
        ("Expiration", "Pending"),
        ("ExpirationNotification", "Finished"),
        ("NoChangeNotification", "Pending"),
    ]
    hist = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [len(h["Policies"]) for h in hist] == [3, 3]
    time.sleep(1.5)  # a worker pass: nothing fires twice
    assert (fired("ExpirationNotification"), fired("NoChangeNotification")) == (1, 1)
    # New policies replace them; an empty policy list removes them (the tier stays Advanced).
    one = [policies[2]]
    ssm.put_parameter(Name=name, Value="v3", Overwrite=True, Policies=json.dumps(one))
    assert status() == [("NoChangeNotification", "Pending")]
    assert ssm.put_parameter(Name=name, Value="v4", Overwrite=True, Policies="[]")["Tier"] == "Advanced"
    assert status() == []
    ssm.put_parameter(Name=name, Value="v5", Overwrite=True)
    assert status() == []


def test_schema_has_no_plain_secret_column_for_securestrings(server: Server, ssm: Any) -> None:
    name = f"/plain/{uid()}"
    ssm.put_parameter(Name=name, Value="the-secret-value", Type="SecureString")
    [row] = server.sql("SELECT value, secret FROM ssm_parameters WHERE name = ?", name)
    assert row[0] is None and b"the-secret-value" not in bytes(row[1])


def test_get_parameters_by_path_label_filter_returns_the_labelled_version(server: Server, ssm: Any) -> None:
    base = f"/lbl/{uid()}"
    for i in (1, 2, 3):
        ssm.put_parameter(Name=f"{base}/a", Value=f"a{i}", Type="String", Overwrite=i > 1)
    ssm.put_parameter(Name=f"{base}/b", Value="b1", Type="String")
    ssm.label_parameter_version(Name=f"{base}/a", ParameterVersion=2, Labels=["prod"])
    out = ssm.get_parameters_by_path(
        Path=base, ParameterFilters=[{"Key": "Label", "Option": "Equals", "Values": ["prod"]}]
    )["Parameters"]
    assert [(p["Name"], p["Version"], p["Value"]) for p in out] == [(f"{base}/a", 2, "a2")]
