"""Audit trail integrity: digest chain, signing keys, digest coverage of records."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_audit"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.Float(precision=53)


def upgrade() -> None:
    # Which digest covers a record (NULL: not digested yet). Not trusted by
    # validation (the signed digest lists its records); used to find the tail.
    op.add_column("audit_events", sa.Column("digest_id", ID, nullable=True))
    op.create_index(
        "ix_audit_undigested",
        "audit_events",
        ["event_time"],
        sqlite_where=sa.text("digest_id IS NULL"),
        postgresql_where=sa.text("digest_id IS NULL"),
    )
    op.create_table(
        "audit_signing_keys",
        sa.Column("fingerprint", sa.String(32), primary_key=True),
        sa.Column("public_der", sa.LargeBinary, nullable=False),
        # PKCS#8 PEM wrapped by the root keyring; AAD binds the fingerprint.
        sa.Column("private_wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("retired", TIME),
    )
    op.create_table(
        "audit_digests",
        sa.Column("id", ID, primary_key=True, autoincrement=False),
        # One chain: a fork (two writers closing the same period) fails here.
        sa.Column("prev_id", ID, unique=True),
        sa.Column("period_start", TIME, nullable=False),
        sa.Column("period_end", TIME, nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_index("ix_audit_digests_end", "audit_digests", ["period_end"])


def downgrade() -> None:
    op.drop_table("audit_digests")
    op.drop_table("audit_signing_keys")
    op.drop_index("ix_audit_undigested", "audit_events")
    op.drop_column("audit_events", "digest_id")
