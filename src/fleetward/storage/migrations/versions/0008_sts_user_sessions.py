"""STS GetSessionToken: temporary credentials of IAM users."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_sts_user_sessions"
down_revision = "0006_iam_instance_profiles"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "sts_user_sessions",
        sa.Column("access_key_id", sa.String(32), primary_key=True),  # ASIA...
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),  # Keyring.wrap(secret, aad=access_key_id)
        sa.Column("token_hash", sa.String(64), nullable=False),  # sha256 hex of the session token
        sa.Column("created", TIME, nullable=False),
        sa.Column("expires", TIME, nullable=False),
        sa.Column("mfa", sa.Boolean, nullable=False),
    )
    op.create_index("ix_sts_user_sessions_user", "sts_user_sessions", ["user_id"])
    op.create_index("ix_sts_user_sessions_expires", "sts_user_sessions", ["expires"])


def downgrade() -> None:
    op.drop_table("sts_user_sessions")
