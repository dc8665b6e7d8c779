"""Inline, attached and boundary policies and tags of users, groups and roles
(one handler per family; the request's ``UserName``/``GroupName``/``RoleName``
says which entity type)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleetward.protocol.registry import Handler, operation
from fleetward.services.context import CallContext
from fleetward.services.iam import entities
from fleetward.services.iam.entities import GROUP, ROLE, USER, Kind, authz_entity


def _kind(req: dict[str, Any]) -> Kind:
    for kind in (USER, GROUP, ROLE):
        if kind.member in req:
            return kind
    return USER


def _ops(family: str, kinds: tuple[Kind, ...] = (USER, GROUP, ROLE)) -> list[tuple[str, Kind]]:
    return [(family.format(k.title), k) for k in kinds]


def _register(
    family: str, *, read_only: bool = False, kinds: tuple[Kind, ...] = (USER, GROUP, ROLE)
) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for name, kind in _ops(family, kinds):
            fn = operation("iam", name, read_only=read_only, authorize=authz_entity(name, kind))(fn)
        return fn

    return deco


@_register("Put{}Policy")
async def put_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.put_inline(ctx, _kind(req), req)
    return {}


@_register("Get{}Policy", read_only=True)
async def get_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    return await entities.get_inline(ctx, _kind(req), req)


@_register("Delete{}Policy")
async def delete_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.delete_inline(ctx, _kind(req), req)
    return {}


@_register("List{}Policies", read_only=True)
async def list_policies(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    return await entities.list_inline(ctx, _kind(req), req)


@_register("Attach{}Policy")
async def attach_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.attach(ctx, _kind(req), req)
    return {}


@_register("Detach{}Policy")
async def detach_policy(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.detach(ctx, _kind(req), req)
    return {}


@_register("ListAttached{}Policies", read_only=True)
async def list_attached(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    return await entities.list_attached(ctx, _kind(req), req)


@_register("Put{}PermissionsBoundary", kinds=(USER, ROLE))
async def put_boundary(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.put_boundary(ctx, _kind(req), req)
    return {}


@_register("Delete{}PermissionsBoundary", kinds=(USER, ROLE))
async def delete_boundary(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.delete_boundary(ctx, _kind(req), req)
    return {}


@_register("Tag{}", kinds=(USER, ROLE))
async def tag(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.tag(ctx, _kind(req), req)
    return {}


@_register("Untag{}", kinds=(USER, ROLE))
async def untag(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    await entities.untag(ctx, _kind(req), req)
    return {}


@_register("List{}Tags", read_only=True, kinds=(USER, ROLE))
async def list_tags(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    return await entities.list_tags(ctx, _kind(req), req)
