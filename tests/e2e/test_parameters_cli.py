"""The real aws CLI against every Parameter Store operation and its error codes."""

from __future__ import annotations

import json
import uuid

from tests.support.server import Server


def test_every_operation_with_the_aws_cli(server: Server) -> None:
    p = f"/cli{uuid.uuid4().hex[:8]}"
    name = f"{p}/a"

    def ok(*args: str) -> dict[str, object]:
        out = server.aws("ssm", *args)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def err(code: str, *args: str) -> None:
        out = server.aws("ssm", *args)
        assert out.returncode != 0
        assert f"({code})" in out.stderr, out.stderr

    assert (
        ok("put-parameter", "--name", name, "--value", "v1", "--type", "String", "--tags", "Key=k,Value=v")[
            "Version"
        ]
        == 1
    )
    err("ParameterAlreadyExists", "put-parameter", "--name", name, "--value", "v", "--type", "String")
    err(
        "ValidationException",
        "put-parameter",
        "--name",
        name,
        "--value",
        "v",
        "--overwrite",
        "--tags",
        "Key=k,Value=v",
    )
    ok("put-parameter", "--name", name, "--value", "v2", "--overwrite")
    ok("put-parameter", "--name", f"{p}/s", "--value", "sekrit", "--type", "SecureString")
    assert ok("get-parameter", "--name", name)["Parameter"]["Value"] == "v2"  # type: ignore[index]
    assert ok("get-parameter", "--name", f"{p}/s", "--with-decryption")["Parameter"]["Value"] == "sekrit"  # type: ignore[index]
    err("ParameterNotFound", "get-parameter", "--name", f"{p}/none")
    err("ParameterVersionNotFound", "get-parameter", "--name", f"{name}:7")
    got = ok("get-parameters", "--names", name, f"{p}/none")
    assert got["InvalidParameters"] == [f"{p}/none"]
    assert len(ok("get-parameters-by-path", "--path", p)["Parameters"]) == 2  # type: ignore[arg-type]
    err("InvalidFilterKey", "get-parameters-by-path", "--path", p, "--parameter-filters", "Key=Name,Values=x")
    desc = ok("describe-parameters", "--parameter-filters", f"Key=Path,Values={p}")
    assert len(desc["Parameters"]) == 2  # type: ignore[arg-type]
    err(
        "InvalidFilterOption",
        "describe-parameters",
        "--parameter-filters",
        "Key=Type,Option=Contains,Values=String",
    )
    assert ok("label-parameter-version", "--name", name, "--labels", "prod", "9bad")["InvalidLabels"] == [
        "9bad"
    ]
    err(
        "ParameterVersionNotFound",
        "label-parameter-version",
        "--name",
        name,
        "--parameter-version",
        "9",
        "--labels",
        "x",
    )
    hist = ok("get-parameter-history", "--name", name)
    assert [h["Version"] for h in hist["Parameters"]] == [1, 2]  # type: ignore[union-attr]
    err("ParameterNotFound", "get-parameter-history", "--name", f"{p}/none")
    assert ok("unlabel-parameter-version", "--name", name, "--parameter-version", "2", "--labels", "prod")[
        "RemovedLabels"
    ] == ["prod"]
    ok(
        "add-tags-to-resource",
        "--resource-type",
        "Parameter",
        "--resource-id",
        name,
        "--tags",
        "Key=env,Value=dev",
    )
    tags = ok("list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", name)["TagList"]
    assert {t["Key"] for t in tags} == {"k", "env"}  # type: ignore[union-attr]
    ok("remove-tags-from-resource", "--resource-type", "Parameter", "--resource-id", name, "--tag-keys", "k")
    err(
        "InvalidResourceId",
        "list-tags-for-resource",
        "--resource-type",
        "Parameter",
        "--resource-id",
        f"{p}/none",
    )
    err(
        "ParameterPatternMismatchException",
        "put-parameter",
        "--name",
        f"{p}/pat",
        "--value",
        "abc",
        "--type",
        "String",
        "--allowed-pattern",
        "^[0-9]+$",
    )
    ok("delete-parameter", "--name", name)
    err("ParameterNotFound", "delete-parameter", "--name", name)
    assert ok("delete-parameters", "--names", f"{p}/s", f"{p}/none")["DeletedParameters"] == [f"{p}/s"]
