"""IAM account-level reads. GetAccountSummary: how many users, groups, roles,
instance profiles and policies the account holds, and the quotas that apply to
them. ListAccountAliases: none (fleetward has no CreateAccountAlias yet).

Quotas fleetward enforces are reported as enforced; the others are IAM's
defaults. Features fleetward does not have (MFA devices, server and signing
certificates, identity providers, root access keys) count zero.
"""

from __future__ import annotations

from typing import Any

from fleetward.protocol.registry import operation
from fleetward.services.context import CallContext
from fleetward.services.iam import store
from fleetward.services.iam.entities import authz_account
from fleetward.services.iam.policies import MAX_VERSIONS
from fleetward.services.iam.roles import MAX_TRUST
from fleetward.services.iam.users import MAX_ACCESS_KEYS

# Enforced by fleetward (see entities.attach, groups.add_user_to_group, ...).
_ENFORCED = {
    "AccessKeysPerUserQuota": MAX_ACCESS_KEYS,
    "AssumeRolePolicySizeQuota": MAX_TRUST,
    "AttachedPoliciesPerGroupQuota": 20,
    "AttachedPoliciesPerRoleQuota": 20,
    "AttachedPoliciesPerUserQuota": 20,
    "GroupPolicySizeQuota": store.MAX_INLINE_GROUP,
    "GroupsPerUserQuota": 10,
    "PolicySizeQuota": store.MAX_MANAGED,
    "RolePolicySizeQuota": store.MAX_INLINE_ROLE,
    "UserPolicySizeQuota": store.MAX_INLINE_USER,
    "VersionsPerPolicyQuota": MAX_VERSIONS,
}
# IAM's default quotas, not enforced here.
_DEFAULTS = {
    "GlobalEndpointTokenVersion": 1,
    "GroupsQuota": 300,
    "InstanceProfilesQuota": 1000,
    "PoliciesQuota": 1500,
    "PolicyVersionsInUseQuota": 10000,
    "RolesQuota": 1000,
    "ServerCertificatesQuota": 20,
    "SigningCertificatesPerUserQuota": 2,
    "UsersQuota": 5000,
}
_ABSENT = (
    "AccountAccessKeysPresent",
    "AccountMFAEnabled",
    "AccountSigningCertificatesPresent",
    "MFADevices",
    "MFADevicesInUse",
    "Providers",
    "ServerCertificates",
)


async def _count(ctx: CallContext, table: str) -> int:
    row = await ctx.conn.fetchone(f"SELECT COUNT(*) FROM {table} WHERE account = ?", ctx.account)
    return int(row[0]) if row else 0


@operation("iam", "GetAccountSummary", read_only=True, authorize=authz_account("GetAccountSummary"))
async def get_account_summary(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, int] = {**_ENFORCED, **_DEFAULTS, **dict.fromkeys(_ABSENT, 0)}
    summary["Users"] = await _count(ctx, "iam_users")
    summary["Groups"] = await _count(ctx, "iam_groups")
    summary["Roles"] = await _count(ctx, "iam_roles")
    summary["InstanceProfiles"] = await _count(ctx, "iam_instance_profiles")
    summary["Policies"] = await _count(ctx, "iam_policies")
    # Managed policies attached to the account's users, groups and roles, AWS-managed ones included.
    attached = 0
    for table, kind in (("iam_users", "user"), ("iam_groups", "group"), ("iam_roles", "role")):
        row = await ctx.conn.fetchone(
            f"SELECT COUNT(*) FROM iam_attachments a JOIN {table} e ON e.id = a.entity_id"
            " WHERE a.entity_type = ? AND e.account = ?",
            kind,
            ctx.account,
        )
        attached += int(row[0]) if row else 0
    summary["PolicyVersionsInUse"] = attached
    return {"SummaryMap": summary}


@operation("iam", "ListAccountAliases", read_only=True, authorize=authz_account("ListAccountAliases"))
async def list_account_aliases(ctx: CallContext, req: dict[str, Any]) -> dict[str, Any]:
    return store.page([], req, "AccountAliases")
