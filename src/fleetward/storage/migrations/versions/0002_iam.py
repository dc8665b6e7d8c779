"""Identity tables: IAM users, groups, roles, policies, access keys; STS sessions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_iam"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)  # epoch seconds, DOUBLE PRECISION on PostgreSQL
BLOB = sa.LargeBinary()


def upgrade() -> None:
    op.create_table(
        "iam_users",
        sa.Column("id", sa.String(32), primary_key=True),  # AIDA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("boundary_arn", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),  # JSON [{"Key","Value"}]
        sa.UniqueConstraint("account", "name", name="uq_iam_users_name"),
    )
    op.create_table(
        "iam_groups",
        sa.Column("id", sa.String(32), primary_key=True),  # AGPA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.UniqueConstraint("account", "name", name="uq_iam_groups_name"),
    )
    op.create_table(
        "iam_group_members",
        sa.Column("group_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_iam_group_members_user", "iam_group_members", ["user_id"])
    op.create_table(
        "iam_roles",
        sa.Column("id", sa.String(32), primary_key=True),  # AROA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("trust_policy", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("max_session_duration", sa.Integer, nullable=False),
        sa.Column("boundary_arn", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.UniqueConstraint("account", "name", name="uq_iam_roles_name"),
    )
    op.create_table(
        "iam_policies",
        sa.Column("arn", sa.Text, primary_key=True),
        sa.Column("id", sa.String(32), nullable=False),  # ANPA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("default_version", sa.Text, nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
    )
    op.create_index("ix_iam_policies_account", "iam_policies", ["account"])
    op.create_table(
        "iam_policy_versions",
        sa.Column("policy_arn", sa.Text, primary_key=True),
        sa.Column("version_id", sa.String(8), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_table(
        "iam_inline_policies",
        sa.Column("entity_type", sa.String(8), primary_key=True),  # user | group | role
        sa.Column("entity_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "iam_attachments",
        sa.Column("entity_type", sa.String(8), primary_key=True),
        sa.Column("entity_id", sa.String(32), primary_key=True),
        sa.Column("policy_arn", sa.Text, primary_key=True),
    )
    op.create_index("ix_iam_attachments_policy", "iam_attachments", ["policy_arn"])
    op.create_table(
        "iam_access_keys",
        sa.Column("access_key_id", sa.String(32), primary_key=True),  # AKIA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("secret", BLOB, nullable=False),  # Keyring.wrap(secret, aad=access_key_id)
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_index("ix_iam_access_keys_user", "iam_access_keys", ["user_id"])
    op.create_table(
        "sts_sessions",
        sa.Column("access_key_id", sa.String(32), primary_key=True),  # ASIA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("role_id", sa.String(32), nullable=False),
        sa.Column("session_name", sa.Text, nullable=False),
        sa.Column("secret", BLOB, nullable=False),  # Keyring.wrap(secret, aad=access_key_id)
        sa.Column("token_hash", sa.String(64), nullable=False),  # sha256 hex of the session token
        sa.Column("created", TIME, nullable=False),
        sa.Column("expires", TIME, nullable=False),
        sa.Column("policy", sa.Text),  # inline session policy
        sa.Column("policy_arns", sa.Text, nullable=False),  # JSON list
        sa.Column("tags", sa.Text, nullable=False),  # JSON {k: v}
        sa.Column("source_identity", sa.Text),
    )
    op.create_index("ix_sts_sessions_expires", "sts_sessions", ["expires"])


def downgrade() -> None:
    for table in (
        "sts_sessions",
        "iam_access_keys",
        "iam_attachments",
        "iam_inline_policies",
        "iam_policy_versions",
        "iam_policies",
        "iam_roles",
        "iam_group_members",
        "iam_groups",
        "iam_users",
    ):
        op.drop_table(table)
