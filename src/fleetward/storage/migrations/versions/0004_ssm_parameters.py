"""Parameter Store: parameters, their versions, labels and tags."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ssm_parameters"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)  # epoch seconds, DOUBLE PRECISION on PostgreSQL
# Names compare and sort by code point on both databases (paging and prefix
# ranges rely on it): the "C" collation on PostgreSQL, BINARY on SQLite.
NAME = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
BLOB = sa.LargeBinary()


def _version_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("data_type", sa.Text, nullable=False),
        sa.Column("tier", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text),
        sa.Column("key_arn", sa.Text),
        # Plain value (String, StringList) or the KMS-sealed value (SecureString).
        sa.Column("value", sa.Text),
        sa.Column("secret", BLOB),
        sa.Column("description", sa.Text),
        sa.Column("allowed_pattern", sa.Text),
        sa.Column("policies", sa.Text),
        sa.Column("modified", TIME, nullable=False),
        sa.Column("modified_user", sa.Text, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ssm_parameters",
        sa.Column("account", sa.String(12), primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        # The name's path ("/a/b" for "/a/b/c", "" at the root): OneLevel lookups.
        sa.Column("parent", NAME, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        *_version_columns(),
        # Tags as a JSON object, beside the table below: the authorizer's
        # aws:ResourceTag keys come with the hot path's single point read.
        sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
        # Next time the policy worker has something to do (NULL: no policies).
        sa.Column("policy_due", TIME),
        # JSON: what the policy worker already did for the current version.
        sa.Column("policy_state", sa.Text),
    )
    op.create_index("ix_ssm_parameters_parent", "ssm_parameters", ["account", "region", "parent", "name"])
    op.create_index("ix_ssm_parameters_policy_due", "ssm_parameters", ["policy_due"])
    op.create_table(
        "ssm_parameter_versions",
        sa.Column("account", sa.String(12), primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        *_version_columns(),
    )
    op.create_table(
        "ssm_parameter_labels",
        sa.Column("account", sa.String(12), primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("label", NAME, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_ssm_parameter_labels_version", "ssm_parameter_labels", ["account", "region", "name", "version"]
    )
    op.create_table(
        "ssm_parameter_tags",
        sa.Column("account", sa.String(12), primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("tag_key", sa.Text, primary_key=True),
        sa.Column("tag_value", sa.Text, nullable=False),
    )
    op.create_index("ix_ssm_parameter_tags_key", "ssm_parameter_tags", ["account", "region", "tag_key"])


def downgrade() -> None:
    for table in ("ssm_parameter_tags", "ssm_parameter_labels", "ssm_parameter_versions", "ssm_parameters"):
        op.drop_table(table)
