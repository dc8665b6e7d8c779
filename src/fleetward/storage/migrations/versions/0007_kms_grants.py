"""KMS grants (CreateGrant and friends)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_kms_grants"
down_revision = "0003_kms"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)  # epoch seconds, DOUBLE PRECISION on PostgreSQL


def upgrade() -> None:
    op.create_table(
        "kms_grants",
        sa.Column("grant_id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("grantee", sa.Text, nullable=False),
        sa.Column("retiring", sa.Text),
        sa.Column("operations", sa.Text, nullable=False),  # JSON list, in request order
        sa.Column("constraints", sa.Text),  # JSON GrantConstraints, or NULL
        sa.Column("issuing_account", sa.String(12), nullable=False),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_index("ix_kms_grants_key", "kms_grants", ["key_id", "created"])
    op.create_index("ix_kms_grants_retiring", "kms_grants", ["retiring"])


def downgrade() -> None:
    op.drop_table("kms_grants")
