"""botocore service models: loading, lookup by wire identity.

The model is the API contract: operation names, shapes, constraints, error
codes. Models load once, when the composition root builds the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import botocore.loaders
import botocore.model

__all__ = ["IAM_PREFIX", "ServiceCatalog", "ServiceInfo", "shape_key"]


def shape_key(shape: botocore.model.Shape) -> tuple[Any, ...]:
    """A stable identity for ``shape``, for per-shape caches.

    botocore builds a new ``Shape`` object each time a member reference is
    resolved, so ``id(shape)`` never meets itself again in a recursive shape
    (caches keyed by it recurse forever) and is reused by another shape once
    a transient one is freed (a cache would answer for the wrong shape). The
    key is the shape resolver (one per service model), the shape name, and
    the member traits merged over the named shape, if any. Caches keep a
    reference to the shape so the resolver outlives its ``id``.
    """
    resolver = shape._shape_resolver
    model = shape._shape_model
    base = getattr(resolver, "_shape_map", {}).get(shape.name)
    if model is base:
        return (id(resolver), shape.name)
    traits = tuple(
        sorted(
            (k, repr(v))
            for k, v in model.items()
            if k != "documentation" and (base is None or base.get(k) != v)
        )
    )
    return (id(resolver), shape.name, traits)


# The IAM action prefix of each botocore service (where it differs from the
# signing name, e.g. the tagging API signs as "tagging" but its actions are
# "tag:...").
IAM_PREFIX: dict[str, str] = {
    "resourcegroupstaggingapi": "tag",
    "resource-groups": "resource-groups",
}

EVENT_SOURCE: dict[str, str] = {
    "resourcegroupstaggingapi": "tagging.amazonaws.com",
}


@dataclass(slots=True)
class ServiceInfo:
    """One service's model plus the facts the pipeline needs per request."""

    name: str
    model: botocore.model.ServiceModel
    protocol: str
    target_prefix: str | None
    signing_name: str
    iam_prefix: str
    event_source: str
    xml_namespace: str | None
    operations: dict[str, botocore.model.OperationModel] = field(default_factory=dict)

    def operation(self, name: str) -> botocore.model.OperationModel | None:
        op = self.operations.get(name)
        if op is None and name in self.model.operation_names:
            op = self.model.operation_model(name)
            self.operations[name] = op
        return op


class ServiceCatalog:
    """The services one listener serves, indexed by how requests name them."""

    def __init__(self, service_names: Iterable[str]) -> None:
        loader = botocore.loaders.Loader()
        self.services: dict[str, ServiceInfo] = {}
        self.by_target: dict[str, ServiceInfo] = {}
        self.by_signing_name: dict[str, ServiceInfo] = {}
        for name in service_names:
            data = loader.load_service_model(name, "service-2")
            model = botocore.model.ServiceModel(data, service_name=name)
            md = model.metadata
            signing = md.get("signingName") or md["endpointPrefix"]
            info = ServiceInfo(
                name=name,
                model=model,
                protocol=md["protocol"],
                target_prefix=md.get("targetPrefix"),
                signing_name=signing,
                iam_prefix=IAM_PREFIX.get(name, signing),
                event_source=EVENT_SOURCE.get(name, f"{md['endpointPrefix']}.amazonaws.com"),
                xml_namespace=md.get("xmlNamespace"),
            )
            self.services[name] = info
            if info.target_prefix:
                self.by_target[info.target_prefix] = info
            self.by_signing_name[signing] = info

    def __getitem__(self, name: str) -> ServiceInfo:
        return self.services[name]
