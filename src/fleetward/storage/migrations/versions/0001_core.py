"""Core tables: accounts, audit trail, outbox, settings, leases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

# Autoincrementing keys: SQLite only aliases the rowid for "INTEGER PRIMARY KEY".
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.Float(precision=53)  # epoch seconds, DOUBLE PRECISION on PostgreSQL


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_time", TIME, nullable=False),
        sa.Column("event_name", sa.Text, nullable=False),
        sa.Column("event_source", sa.Text, nullable=False),
        sa.Column("username", sa.Text),
        sa.Column("access_key_id", sa.Text),
        sa.Column("principal_arn", sa.Text),
        sa.Column("read_only", sa.Integer, nullable=False),
        sa.Column("error_code", sa.Text),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_account_time", "audit_events", ["account", "event_time"])
    op.create_table(
        "audit_resources",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("resource_type", sa.Text),
        sa.Column("resource_name", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_resources_name", "audit_resources", ["resource_name"])
    op.create_index("ix_audit_resources_event", "audit_resources", ["event_id"])
    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("detail_type", sa.Text, nullable=False),
        sa.Column("resources", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("delivered", TIME),
    )
    op.create_index("ix_outbox_pending", "outbox", ["delivered", "id"])
    op.create_table(
        "service_settings",
        sa.Column("account", sa.String(12), primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("setting_id", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("modified", TIME, nullable=False),
        sa.Column("modified_by", sa.Text, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("expires", TIME, nullable=False),
    )
