"""KMS: keys, wrapped backing-key versions, aliases, tags."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_kms"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)  # epoch seconds, DOUBLE PRECISION on PostgreSQL


def upgrade() -> None:
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("arn", sa.Text, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("key_usage", sa.Text, nullable=False),
        sa.Column("key_spec", sa.Text, nullable=False),
        sa.Column("key_manager", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("deletion_date", TIME),
        sa.Column("pending_window", sa.Integer),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("rotation_enabled", sa.Integer, nullable=False),
        sa.Column("rotation_period", sa.Integer),
        sa.Column("next_rotation", TIME),
        sa.Column("current_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_kms_keys_account", "kms_keys", ["account", "region", "key_id"])
    op.create_index("ix_kms_keys_rotation", "kms_keys", ["next_rotation"])
    op.create_index("ix_kms_keys_deletion", "kms_keys", ["deletion_date"])
    op.create_table(
        "kms_key_versions",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        # The key ARN is part of the wrapped key's associated data.
        sa.Column("key_arn", sa.Text, nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("rotation_type", sa.Text),
    )
    op.create_table(
        "kms_aliases",
        sa.Column("account", sa.String(12), primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("updated", TIME, nullable=False),
    )
    op.create_index("ix_kms_aliases_key", "kms_aliases", ["key_id"])
    op.create_table(
        "kms_tags",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("tag_key", sa.Text, primary_key=True),
        sa.Column("tag_value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("kms_tags", "kms_aliases", "kms_key_versions", "kms_keys"):
        op.drop_table(table)
