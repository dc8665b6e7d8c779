"""The operation registry: AWS operation name -> provider coroutine.

An operation is a plain ``async def handler(ctx, request) -> result`` tagged
with :func:`operation`; it declares its IAM action(s) and resources through
an ``authorize`` coroutine returning :class:`Check` values (default: one
check of ``<prefix>:<Name>`` on ``*``). The composition root adds the
modules of each service; a name the service model does not know is refused
at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from fleetward.protocol.model import ServiceCatalog

__all__ = ["Check", "OperationSpec", "Registry", "operation"]

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization question: may the caller do ``action`` on ``resource``?

    ``keys`` are request-specific condition keys (lower-cased names, e.g.
    ``ssm:overwrite``). ``resource_policy`` is the resource's own policy
    (a compiled KMS key policy); when ``resource_policy_required`` it must
    allow explicitly, as KMS key policies and role trust policies must.
    ``resource_type`` feeds the audit record (``AWS::SSM::Parameter``).
    """

    action: str
    resource: str = "*"
    keys: Mapping[str, Any] | None = None
    resource_policy: Any = None
    resource_policy_required: bool = False
    resource_account: str | None = None
    resource_type: str | None = None


Authorize = Callable[[Any, dict[str, Any]], Awaitable[Sequence[Check]]]


@dataclass(frozen=True, slots=True)
class OperationSpec:
    service: str
    name: str
    handler: Handler
    read_only: bool = False
    authorize: Authorize | None = None
    # Never authorized (sts:GetCallerIdentity: AWS answers it even under a Deny).
    public: bool = False
    # Extra member names to hide in the audit trail beyond botocore's sensitive ones.
    hidden: frozenset[str] = field(default_factory=frozenset)


def operation(
    service: str,
    name: str,
    *,
    read_only: bool = False,
    authorize: Authorize | None = None,
    public: bool = False,
    hidden: Iterable[str] = (),
) -> Callable[[Handler], Handler]:
    """Tag ``handler`` as the provider of ``service``'s operation ``name``."""

    def tag(fn: Handler) -> Handler:
        spec = OperationSpec(service, name, fn, read_only, authorize, public, frozenset(hidden))
        specs: list[OperationSpec] = getattr(fn, "__fleetward_ops__", [])
        setattr(fn, "__fleetward_ops__", [*specs, spec])  # noqa: B010 (a tag on a plain function)
        return fn

    return tag


class Registry:
    """Operations by (service, name), checked against the catalog's models."""

    def __init__(self, catalog: ServiceCatalog) -> None:
        self.catalog = catalog
        self._ops: dict[tuple[str, str], OperationSpec] = {}

    def add(self, spec: OperationSpec) -> None:
        info = self.catalog.services.get(spec.service)
        if info is None or spec.name not in info.model.operation_names:
            raise ValueError(f"{spec.service}:{spec.name} is not an operation of the service model")
        key = (spec.service, spec.name)
        if key in self._ops:
            raise ValueError(f"{spec.service}:{spec.name} registered twice")
        self._ops[key] = spec

    def add_module(self, module: ModuleType) -> None:
        """Register every tagged operation found in ``module``."""
        for value in vars(module).values():
            for spec in getattr(value, "__fleetward_ops__", ()):
                self.add(spec)

    def get(self, service: str, name: str) -> OperationSpec | None:
        return self._ops.get((service, name))

    def __iter__(self) -> Iterable[OperationSpec]:
        return iter(self._ops.values())

    def specs(self) -> list[OperationSpec]:
        return list(self._ops.values())
