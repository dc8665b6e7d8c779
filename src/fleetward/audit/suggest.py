"""Least privilege from activity: the smallest policy covering what a principal did.

Like IAM Access Analyzer's policy generation from CloudTrail: the
principal's successful calls since a time become actions (service prefix
from the event source) grouped by the resource ARNs they touched; calls
that named no resource get ``"Resource": "*"``.
"""

from __future__ import annotations

from typing import Any

from fleetward.storage.db import Database

__all__ = ["iam_prefix", "suggest_policy"]

_PREFIX = {"tagging": "tag"}
# Never authorized by AWS: no permission is needed for them.
_PUBLIC = frozenset({"sts:GetCallerIdentity"})


def iam_prefix(event_source: str) -> str:
    """``ssm.amazonaws.com`` -> ``ssm``."""
    head = event_source.split(".", 1)[0]
    return _PREFIX.get(head, head)


def _principal_match(arn: str) -> tuple[str, str]:
    """SQL condition and argument for records of ``arn`` (a role's ARN matches its sessions)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        name = parts[5].rsplit("/", 1)[-1]
        return "principal_arn LIKE ?", f"arn:aws:sts::{parts[4]}:assumed-role/{name}/%"
    return "principal_arn = ?", arn


async def suggest_policy(db: Database, principal_arn: str, since: float) -> dict[str, Any]:
    """An IAM policy document allowing exactly the actions and resources used."""
    cond, arg = _principal_match(principal_arn)
    rows = await db.fetchall(
        f"SELECT e.event_id, e.event_source, e.event_name, r.resource_name FROM audit_events e"
        f" LEFT JOIN audit_resources r ON r.event_id = e.event_id"
        f" WHERE e.{cond} AND e.event_time >= ? AND e.error_code IS NULL",
        arg,
        float(since),
    )
    by_resource: dict[str, set[str]] = {}
    for r in rows:
        action = f"{iam_prefix(str(r['event_source']))}:{r['event_name']}"
        if action in _PUBLIC:
            continue
        by_resource.setdefault(str(r["resource_name"] or "*"), set()).add(action)
    # Resources used by the same set of actions share one statement.
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for arn, actions in by_resource.items():
        by_actions.setdefault(tuple(sorted(actions)), []).append(arn)
    statements: list[dict[str, Any]] = []
    for acts, resources in sorted(by_actions.items(), key=lambda kv: (sorted(kv[1]), kv[0])):
        res = sorted(resources)
        statements.append(
            {
                "Effect": "Allow",
                "Action": list(acts) if len(acts) > 1 else acts[0],
                "Resource": res if len(res) > 1 else res[0],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
