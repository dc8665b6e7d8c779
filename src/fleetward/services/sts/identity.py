"""STS GetCallerIdentity: who am I (never denied, as in AWS)."""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext


@operation("sts", "GetCallerIdentity", read_only=True, public=True)
async def get_caller_identity(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    p = ctx.principal
    return {"UserId": p.principal_id, "Account": p.account, "Arn": p.arn}
