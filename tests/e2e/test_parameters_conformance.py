"""Parameter Store rules found by running moto's catalogue against fleetward, checked end to end.

- a top-level name is one parameter whether spelt ``a`` or ``/a`` (AWS-verified):
  every operation finds it under either spelling, and it keeps the name it was created with;
- reserved names get AWS's distinct messages (``aws``/``ssm`` prefix, ``/aws...`` paths
  denied, ``/ssm...`` paths);
- an empty value is refused;
- DescribeParameters: ``Contains`` on Name reads the name with its leading slash, and a Path
  filter under ``/aws`` or ``/ssm`` is refused with AWS's message.

From botocore's service model (the operations' documentation):

- spaces at the beginning or end of a name (or path) are removed; a space inside one is a
  ValidationException;
- GetParameterHistory takes a name or an ARN;
- GetParameters lists its results in alphabetical order.
"""

from __future__ import annotations

import uuid
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Server

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def ssm(server: Server) -> Any:
    return server.client("ssm")


def uid() -> str:
    return uuid.uuid4().hex[:10]


def fails(call: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


# ------------------------------------------------------------ leading slash


@pytest.mark.parametrize("slash_first", [True, False])
def test_top_level_name_is_one_parameter_under_both_spellings(ssm: Any, slash_first: bool) -> None:
    bare = f"lead{uid()}"
    created, other = ("/" + bare, bare) if slash_first else (bare, "/" + bare)
    ssm.put_parameter(Name=created, Value="v1", Type="String")
    p = ssm.get_parameter(Name=other)["Parameter"]
    assert (p["Name"], p["Value"]) == (created, "v1")
    assert p["ARN"].endswith(f":parameter/{bare}")
    assert [x["Name"] for x in ssm.get_parameters(Names=[other])["Parameters"]] == [created]
    # No second parameter under the other spelling; Overwrite updates the one there is.
    assert fails(ssm.put_parameter, Name=other, Value="v2", Type="String")[0] == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name=other, Value="v2", Overwrite=True)["Version"] == 2
    assert ssm.get_parameter(Name=created)["Parameter"]["Value"] == "v2"
    assert ssm.get_parameter(Name=f"{other}:1")["Parameter"]["Value"] == "v1"
    # History and labels.
    hist = ssm.get_parameter_history(Name=other)["Parameters"]
    assert [(h["Name"], h["Version"]) for h in hist] == [(created, 1), (created, 2)]
    ssm.label_parameter_version(Name=other, ParameterVersion=1, Labels=["old"])
    assert ssm.get_parameter(Name=f"{created}:old")["Parameter"]["Value"] == "v1"
    assert ssm.unlabel_parameter_version(Name=other, ParameterVersion=1, Labels=["old"])["RemovedLabels"] == [
        "old"
    ]
    # Tags through either spelling land on the one parameter.
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=bare, Tags=[{"Key": "a", "Value": "1"}])
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/" + bare, Tags=[{"Key": "b", "Value": "2"}]
    )
    for rid in (bare, "/" + bare):
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=rid)["TagList"]
        assert [t["Key"] for t in tags] == ["a", "b"]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=other, TagKeys=["a"])
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=created)["TagList"]
    assert tags == [{"Key": "b", "Value": "2"}]
    # Delete under the other spelling; then DeleteParameters likewise.
    ssm.delete_parameter(Name=other)
    assert ssm.get_parameters(Names=[created, other])["Parameters"] == []
    ssm.put_parameter(Name=created, Value="again", Type="String")
    out = ssm.delete_parameters(Names=[other])
    assert (out["DeletedParameters"], out["InvalidParameters"]) == ([other], [])
    assert fails(ssm.get_parameter, Name=created)[0] == "ParameterNotFound"


def test_hierarchical_names_have_one_spelling(ssm: Any) -> None:
    name = f"/h{uid()}/x"
    ssm.put_parameter(Name=name, Value="v", Type="String")
    assert fails(ssm.get_parameter, Name=name[1:])[0] == "ParameterNotFound"


# ------------------------------------------------------------ put rules


SSM_PATH = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist '
    "of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the "
    "following 3 symbols .-_"
)
PREFIX = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'


@pytest.mark.parametrize(
    ("name", "code", "msg"),
    [
        ("ssm_test", "ValidationException", PREFIX),
        ("AWS_TEST", "ValidationException", PREFIX),
        ("/ssm_test", "ValidationException", PREFIX),
        ("/aws_test", "ValidationException", PREFIX),
        ("/ssm_test/path/to/var", "ValidationException", SSM_PATH),
        ("/SSM/PATH/TO/VAR", "ValidationException", SSM_PATH),
        (
            "/aws_test/path/to/var",
            "AccessDeniedException",
            "No access to reserved parameter name: /aws_test/path/to/var.",
        ),
        (
            "/AWS/PATH/TO/VAR",
            "AccessDeniedException",
            "No access to reserved parameter name: /AWS/PATH/TO/VAR.",
        ),
    ],
)
def test_reserved_name_messages(ssm: Any, name: str, code: str, msg: str) -> None:
    assert fails(ssm.put_parameter, Name=name, Value="v", Type="String") == (code, msg)


def test_empty_value_refused(ssm: Any) -> None:
    name = f"/empty/{uid()}"
    assert fails(ssm.put_parameter, Name=name, Value="", Type="String") == (
        "ValidationException",
        "1 validation error detected: Value '' at 'value' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1.",
    )
    assert fails(ssm.get_parameter, Name=name)[0] == "ParameterNotFound"


# ------------------------------------------------------------ describe filters


def test_describe_name_contains_reads_the_leading_slash(ssm: Any) -> None:
    tag = uid()
    ssm.put_parameter(Name=f"/tan{tag}-3", Value="v", Type="String")
    ssm.put_parameter(Name=f"tan{tag}-4", Value="v", Type="String")
    out = ssm.describe_parameters(
        MaxResults=50, ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": [f"/tan{tag}"]}]
    )
    assert sorted(p["Name"] for p in out["Parameters"]) == [f"/tan{tag}-3", f"tan{tag}-4"]
    out = ssm.describe_parameters(
        MaxResults=50, ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": [f"n{tag}-4"]}]
    )
    assert [p["Name"] for p in out["Parameters"]] == [f"tan{tag}-4"]


@pytest.mark.parametrize("values", [["/aws"], ["/ssm"], ["/ok", "/SSMx/y"], ["/aws/service"]])
def test_describe_path_filter_refuses_common_namespaces(ssm: Any, values: list[str]) -> None:
    assert fails(ssm.describe_parameters, ParameterFilters=[{"Key": "Path", "Values": values}]) == (
        "ValidationException",
        'Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive). When using '
        "global parameters, please specify within a global namespace.",
    )


# ------------------------------------------------------------ documented in the model


def test_names_are_read_without_surrounding_spaces(ssm: Any) -> None:
    root = f"/trim{uid()}"
    name = f"{root}/a"
    assert ssm.put_parameter(Name=f"  {name} ", Value="v1", Type="String")["Version"] == 1
    assert ssm.get_parameter(Name=name)["Parameter"]["Name"] == name
    ssm.put_parameter(Name=f"{name} ", Value="v2", Overwrite=True)
    assert ssm.get_parameter(Name=f" {name}")["Parameter"]["Value"] == "v2"
    assert ssm.get_parameter(Name=f" {name}:1 ")["Parameter"]["Value"] == "v1"
    got = ssm.get_parameters(Names=[f" {name} "])
    assert ([p["Name"] for p in got["Parameters"]], got["InvalidParameters"]) == ([name], [])
    assert [p["Name"] for p in ssm.get_parameters_by_path(Path=f" {root} ")["Parameters"]] == [name]
    assert (
        ssm.label_parameter_version(Name=f" {name} ", ParameterVersion=1, Labels=["old"])["InvalidLabels"]
        == []
    )
    hist = ssm.get_parameter_history(Name=f" {name} ")["Parameters"]
    assert [(h["Version"], h["Labels"]) for h in hist] == [(1, ["old"]), (2, [])]
    assert ssm.unlabel_parameter_version(Name=f"{name} ", ParameterVersion=1, Labels=["old"])[
        "RemovedLabels"
    ] == ["old"]
    assert fails(ssm.put_parameter, Name=f"{root}/a b", Value="v", Type="String")[0] == "ValidationException"


def test_get_parameter_history_takes_an_arn(ssm: Any) -> None:
    for name in (f"/hist{uid()}/a", f"hist{uid()}"):
        ssm.put_parameter(Name=name, Value="v1", Type="String")
        ssm.put_parameter(Name=name, Value="v2", Type="String", Overwrite=True)
        arn = ssm.get_parameter(Name=name)["Parameter"]["ARN"]
        hist = ssm.get_parameter_history(Name=arn)["Parameters"]
        assert [(h["Name"], h["Value"]) for h in hist] == [(name, "v1"), (name, "v2")]
    assert fails(ssm.get_parameter_history, Name=arn + "x")[0] == "ParameterNotFound"


def test_get_parameters_lists_results_in_alphabetical_order(ssm: Any) -> None:
    root = f"/abc{uid()}"
    for n in ("c", "a", "b"):
        ssm.put_parameter(Name=f"{root}/{n}", Value=n, Type="String")
    got = ssm.get_parameters(Names=[f"{root}/c", f"{root}/b", f"{root}/a", f"{root}/none"])
    assert [p["Name"] for p in got["Parameters"]] == [f"{root}/a", f"{root}/b", f"{root}/c"]
    assert got["InvalidParameters"] == [f"{root}/none"]
