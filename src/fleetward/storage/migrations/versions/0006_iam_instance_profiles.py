"""IAM instance profiles and the role each one carries."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_iam_instance_profiles"
down_revision = "0002_iam"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "iam_instance_profiles",
        sa.Column("id", sa.String(32), primary_key=True),  # AIPA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),  # JSON [{"Key","Value"}]
        sa.UniqueConstraint("account", "name", name="uq_iam_instance_profiles_name"),
    )
    op.create_table(
        "iam_instance_profile_roles",
        sa.Column("profile_id", sa.String(32), primary_key=True),
        sa.Column("role_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_iam_instance_profile_roles_role", "iam_instance_profile_roles", ["role_id"])


def downgrade() -> None:
    op.drop_table("iam_instance_profile_roles")
    op.drop_table("iam_instance_profiles")
