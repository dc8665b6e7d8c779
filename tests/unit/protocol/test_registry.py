"""The operation registry refuses names the model does not know, and duplicates."""

from __future__ import annotations

import types
from typing import Any

import pytest

from fleetward.protocol.model import ServiceCatalog
from fleetward.protocol.registry import Check, OperationSpec, Registry, operation


@pytest.fixture(scope="module")
def catalog() -> ServiceCatalog:
    return ServiceCatalog(["ssm", "sts", "iam", "resourcegroupstaggingapi"])


async def _handler(ctx: Any, req: dict[str, Any]) -> dict[str, Any]:
    return {}


def test_catalog_indexes(catalog: ServiceCatalog) -> None:
    ssm = catalog["ssm"]
    assert ssm.protocol == "json"
    assert ssm.target_prefix == "AmazonSSM"
    assert catalog.by_target["AmazonSSM"] is ssm
    assert catalog.by_signing_name["sts"].protocol == "query"
    assert catalog["iam"].xml_namespace == "https://iam.amazonaws.com/doc/2010-05-08/"
    assert catalog["resourcegroupstaggingapi"].iam_prefix == "tag"
    op = ssm.operation("GetParameter")
    assert op is not None and op.name == "GetParameter"
    assert ssm.operation("GetParameter") is op
    assert ssm.operation("NoSuchThing") is None


def test_register_and_get(catalog: ServiceCatalog) -> None:
    reg = Registry(catalog)
    spec = OperationSpec("ssm", "GetParameter", _handler, read_only=True)
    reg.add(spec)
    assert reg.get("ssm", "GetParameter") is spec
    assert reg.get("ssm", "PutParameter") is None
    assert reg.specs() == [spec]


def test_unknown_operation_refused(catalog: ServiceCatalog) -> None:
    reg = Registry(catalog)
    with pytest.raises(ValueError, match="not an operation"):
        reg.add(OperationSpec("ssm", "GetParamter", _handler))


def test_operation_of_other_service_refused(catalog: ServiceCatalog) -> None:
    reg = Registry(catalog)
    with pytest.raises(ValueError, match="not an operation"):
        reg.add(OperationSpec("sts", "GetParameter", _handler))


def test_unknown_service_refused(catalog: ServiceCatalog) -> None:
    reg = Registry(catalog)
    with pytest.raises(ValueError):
        reg.add(OperationSpec("kms", "Encrypt", _handler))  # not in this catalog


def test_duplicate_refused(catalog: ServiceCatalog) -> None:
    reg = Registry(catalog)
    reg.add(OperationSpec("ssm", "GetParameter", _handler))
    with pytest.raises(ValueError, match="twice"):
        reg.add(OperationSpec("ssm", "GetParameter", _handler))


def test_decorator_and_add_module(catalog: ServiceCatalog) -> None:
    async def authz(ctx: Any, req: dict[str, Any]) -> list[Check]:
        return [Check("ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/x")]

    mod = types.ModuleType("fake_ops")

    @operation("ssm", "GetParameter", read_only=True, authorize=authz)
    @operation("ssm", "GetParameters", read_only=True)
    async def get(ctx: Any, req: dict[str, Any]) -> dict[str, Any]:
        return {}

    @operation("sts", "GetCallerIdentity", public=True, hidden=["Secret"])
    async def who(ctx: Any, req: dict[str, Any]) -> dict[str, Any]:
        return {}

    mod.get = get  # type: ignore[attr-defined]
    mod.who = who  # type: ignore[attr-defined]
    mod.not_an_op = 3  # type: ignore[attr-defined]
    reg = Registry(catalog)
    reg.add_module(mod)
    names = sorted((s.service, s.name) for s in reg.specs())
    assert names == [("ssm", "GetParameter"), ("ssm", "GetParameters"), ("sts", "GetCallerIdentity")]
    gp = reg.get("ssm", "GetParameter")
    assert gp is not None and gp.read_only and gp.authorize is authz and gp.handler is get
    gci = reg.get("sts", "GetCallerIdentity")
    assert gci is not None and gci.public and gci.hidden == frozenset({"Secret"})
    # The same module twice is a duplicate registration.
    with pytest.raises(ValueError, match="twice"):
        reg.add_module(mod)


def test_bad_module_refused_at_start(catalog: ServiceCatalog) -> None:
    mod = types.ModuleType("bad_ops")

    @operation("ssm", "GetParamter")
    async def typo(ctx: Any, req: dict[str, Any]) -> dict[str, Any]:
        return {}

    mod.typo = typo  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="ssm:GetParamter"):
        Registry(catalog).add_module(mod)
