"""AddTagsToResource, ListTagsForResource, RemoveTagsFromResource.

This module owns the three operations for every SSM resource type. It
serves ``Parameter`` itself; other features register a tagger for their
type in ``env.extras["ssm_taggers"][<ResourceType>]`` (an object with
``arn(ctx, resource_id) -> str`` and async ``get(ctx, resource_id) ->
dict | None`` / ``put(ctx, resource_id, tags: dict) -> None``). Any other
type is ``InvalidResourceType``.
"""

from __future__ import annotations

from typing import Any

import orjson

from fleetward.protocol.registry import Check, operation
from fleetward.services.context import CallContext
from fleetward.services.ssm import store
from fleetward.services.ssm.errors import InvalidResourceId, InvalidResourceType, TooManyTagsError
from fleetward.services.ssm.names import name_from_arn, param_arn
from fleetward.services.ssm.parameters import MAX_TAGS, RESOURCE_TYPE, check_tag_keys, tag_keys

__all__ = ["ParameterTagger", "add_tags_to_resource", "list_tags_for_resource", "remove_tags_from_resource"]


class ParameterTagger:
    """Tags of a parameter: the ``ssm_parameter_tags`` rows and the JSON copy on the parameter row.

    The resource id is a name (``a`` and ``/a`` alike) or an ARN (``parameter/a`` is ``a`` or ``/a``)."""

    resource_type = RESOURCE_TYPE

    @staticmethod
    def _name(ctx: CallContext, rid: str) -> str:
        return name_from_arn(rid, ctx.region, ctx.account) or rid if rid.startswith("arn:") else rid

    def arn(self, ctx: CallContext, rid: str) -> str:
        return param_arn(ctx.region, ctx.account, self._name(ctx, rid))

    async def get(self, ctx: CallContext, rid: str) -> dict[str, str] | None:
        row = await store.find(ctx, "name, tags", self._name(ctx, rid))
        return None if row is None else dict(orjson.loads(row["tags"]))

    async def put(self, ctx: CallContext, rid: str, tags: dict[str, str]) -> None:
        row = await store.find(ctx, "name", self._name(ctx, rid))
        if row is None:
            return
        name = row["name"]
        await ctx.conn.execute(
            "UPDATE ssm_parameters SET tags = ? WHERE account = ? AND region = ? AND name = ?",
            orjson.dumps(tags).decode(),
            ctx.account,
            ctx.region,
            name,
        )
        await ctx.conn.execute(
            "DELETE FROM ssm_parameter_tags WHERE account = ? AND region = ? AND name = ?",
            ctx.account,
            ctx.region,
            name,
        )
        await ctx.conn.executemany(
            "INSERT INTO ssm_parameter_tags (account, region, name, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)",
            [(ctx.account, ctx.region, name, k, v) for k, v in tags.items()],
        )


_PARAMETERS = ParameterTagger()


def _tagger(ctx: CallContext, rtype: str) -> Any:
    if rtype == "Parameter":
        return _PARAMETERS
    tagger = ctx.env.extras.get("ssm_taggers", {}).get(rtype)
    if tagger is None:
        raise InvalidResourceType()
    return tagger


def _authorizer(action: str) -> Any:
    async def authz(ctx: CallContext, req: dict[str, Any]) -> list[Check]:
        tagger = _tagger(ctx, req["ResourceType"])
        current = await tagger.get(ctx, req["ResourceId"]) or {}
        keys: dict[str, Any] = dict(tag_keys(orjson.dumps(current).decode()))
        if "Tags" in req:
            keys["aws:tagkeys"] = [t["Key"] for t in req["Tags"]]
            keys.update({f"aws:requesttag/{t['Key']}".lower(): t["Value"] for t in req["Tags"]})
        elif "TagKeys" in req:
            keys["aws:tagkeys"] = list(req["TagKeys"])
        return [
            Check(
                action,
                tagger.arn(ctx, req["ResourceId"]),
                keys or None,
                resource_type=getattr(tagger, "resource_type", None),
            )
        ]

    return authz


async def _existing(ctx: CallContext, req: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    tagger = _tagger(ctx, req["ResourceType"])
    tags = await tagger.get(ctx, req["ResourceId"])
    if tags is None:
        raise InvalidResourceId()
    return tagger, tags


@operation("ssm", "AddTagsToResource", authorize=_authorizer("ssm:AddTagsToResource"))
async def add_tags_to_resource(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    tagger, tags = await _existing(ctx, req)
    check_tag_keys([t["Key"] for t in req["Tags"]])
    for t in req["Tags"]:
        tags[t["Key"]] = t["Value"]
    if len(tags) > MAX_TAGS:
        raise TooManyTagsError()
    await tagger.put(ctx, req["ResourceId"], tags)
    return {}


@operation("ssm", "ListTagsForResource", read_only=True, authorize=_authorizer("ssm:ListTagsForResource"))
async def list_tags_for_resource(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    _, tags = await _existing(ctx, req)
    return {"TagList": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


@operation("ssm", "RemoveTagsFromResource", authorize=_authorizer("ssm:RemoveTagsFromResource"))
async def remove_tags_from_resource(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    tagger, tags = await _existing(ctx, req)
    for key in req["TagKeys"]:
        tags.pop(key, None)
    await tagger.put(ctx, req["ResourceId"], tags)
    return {}
