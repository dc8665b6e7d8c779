"""When (and where) access keys and roles were last used: GetAccessKeyLastUsed, RoleLastUsed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_iam_last_used"
down_revision = "0008_sts_user_sessions"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def upgrade() -> None:
    op.add_column("iam_access_keys", sa.Column("last_used", TIME, nullable=True))
    op.add_column("iam_access_keys", sa.Column("last_used_service", sa.Text, nullable=True))
    op.add_column("iam_access_keys", sa.Column("last_used_region", sa.Text, nullable=True))
    op.add_column("iam_roles", sa.Column("last_used", TIME, nullable=True))
    op.add_column("iam_roles", sa.Column("last_used_region", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("iam_roles") as batch:
        batch.drop_column("last_used_region")
        batch.drop_column("last_used")
    with op.batch_alter_table("iam_access_keys") as batch:
        batch.drop_column("last_used_region")
        batch.drop_column("last_used_service")
        batch.drop_column("last_used")
