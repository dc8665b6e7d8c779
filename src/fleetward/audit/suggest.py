"""Least privilege from activity: the smallest policy covering what a principal did.

Like IAM Access Analyzer's policy generation from CloudTrail: the
permissions the principal's calls since a time were granted become actions
grouped by the resource ARNs they touched. Each record lists the
authorization decisions of its call (``additionalEventData.authorization``:
action and resource of every check), so an operation that needs several
actions (``AddRoleToInstanceProfile`` also needs ``iam:PassRole`` on the
role, ``ReEncrypt`` needs ``kms:ReEncryptFrom`` and ``kms:ReEncryptTo``)
gets exactly those, each on its own resource. Denied checks grant nothing.
A successful record without decisions (a call that needs no permission)
falls back to its event name and resources; calls that named no resource
get ``"Resource": "*"``.
"""

from __future__ import annotations

from typing import Any

import orjson

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


def _granted(rec: dict[str, Any], event_source: str, event_name: str) -> list[tuple[str, str]]:
    """(action, resource) pairs the call behind ``rec`` was allowed."""
    extra = rec.get("additionalEventData")
    decisions = extra.get("authorization") if isinstance(extra, dict) else None
    if decisions:
        return [
            (str(d["action"]), str(d.get("resource") or "*"))
            for d in decisions
            if isinstance(d, dict) and d.get("decision") == "Allow" and d.get("action")
        ]
    if rec.get("errorCode"):
        return []
    action = f"{iam_prefix(event_source)}:{event_name}"
    return [(action, str(r.get("ARN") or "*")) for r in rec.get("resources") or ()] or [(action, "*")]


async def suggest_policy(db: Database, principal_arn: str, since: float) -> dict[str, Any]:
    """An IAM policy document allowing exactly the actions and resources used."""
    cond, arg = _principal_match(principal_arn)
    rows = await db.fetchall(
        f"SELECT event_source, event_name, record FROM audit_events WHERE {cond} AND event_time >= ?",
        arg,
        float(since),
    )
    by_resource: dict[str, set[str]] = {}
    for r in rows:
        for action, resource in _granted(
            orjson.loads(r["record"]), str(r["event_source"]), str(r["event_name"])
        ):
            if action not in _PUBLIC:
                by_resource.setdefault(resource, set()).add(action)
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
