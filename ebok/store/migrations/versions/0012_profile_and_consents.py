"""customer profile, e-mail changes, RODO consents and billing's outbox

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "account_profiles",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=120), nullable=True),
        sa.Column("postal_code", sa.String(length=6), nullable=True),
        sa.Column("city", sa.String(length=60), nullable=True),
        sa.Column("notify_invoices", sa.Boolean(), nullable=False),
        sa.Column("notify_reminders", sa.Boolean(), nullable=False),
        sa.Column("notify_outages", sa.Boolean(), nullable=False),
        sa.Column("notify_planned_works", sa.Boolean(), nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_profiles")),
    )
    op.create_table(
        "email_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("old_email", sa.String(length=320), nullable=False),
        sa.Column("new_email", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _ts("requested_at", nullable=False),
        _ts("changed_at"),
        _ts("undone_at"),
        _ts("unlocked_at"),
        sa.Column("unlocked_by", sa.String(length=64), nullable=True),
        _ts("closed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_changes")),
    )
    op.create_index(op.f("ix_email_changes_account_id"), "email_changes", ["account_id"])
    op.create_table(
        "rodo_consents",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=True),
        _ts("at", nullable=False),
        sa.CheckConstraint("action IN ('given', 'withdrawn')", name="ck_rodo_consents_action"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_rodo_consents")),
    )
    op.create_index(
        op.f("ix_rodo_consents_account_id_purpose"), "rodo_consents", ["account_id", "purpose"]
    )
    op.create_table(
        "billing_outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        _ts("changed_at", nullable=False),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_outbox")),
    )
    op.create_index(op.f("ix_billing_outbox_batch"), "billing_outbox", ["batch"])
    op.create_table(
        "billing_export_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _ts("exported_at", nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_export_batches")),
    )


def downgrade() -> None:
    op.drop_table("billing_export_batches")
    op.drop_index(op.f("ix_billing_outbox_batch"), table_name="billing_outbox")
    op.drop_table("billing_outbox")
    op.drop_index(op.f("ix_rodo_consents_account_id_purpose"), table_name="rodo_consents")
    op.drop_table("rodo_consents")
    op.drop_index(op.f("ix_email_changes_account_id"), table_name="email_changes")
    op.drop_table("email_changes")
    op.drop_table("account_profiles")
