"""invoice lifecycle: invoice details, payments, credits, paper queue, audit, suspensions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _invoice_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("nrb", sa.String(length=26), nullable=True),
        sa.Column("net_grosze", sa.BigInteger(), nullable=True),
        sa.Column("vat_grosze", sa.BigInteger(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=True),
        sa.Column("ppe", sa.String(length=18), nullable=True),
        sa.Column("correction_of", sa.String(length=40), nullable=True),
        sa.Column("amount_due_grosze", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.Column("delivery", sa.String(length=8), nullable=True),
        sa.Column("pay_url", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in _invoice_columns():
            batch_op.add_column(column)

    op.create_table(
        "payments",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("amount_grosze", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "source IN ('provider', 'bank', 'staff')", name=op.f("ck_payments_source")
        ),
        sa.CheckConstraint("amount_grosze > 0", name=op.f("ck_payments_amount")),
        sa.ForeignKeyConstraint(
            ["invoice_number"], ["invoices.number"], name="fk_payments_invoice_number"
        ),
        sa.PrimaryKeyConstraint("source", "reference", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_invoice_number"), "payments", ["invoice_number"])

    op.create_table(
        "partner_credits",
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("contract_account", sa.String(length=12), nullable=False),
        sa.Column("amount_grosze", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_number"], ["invoices.number"], name="fk_partner_credits_invoice_number"
        ),
        sa.PrimaryKeyConstraint("invoice_number", name=op.f("pk_partner_credits")),
    )
    op.create_index(
        op.f("ix_partner_credits_partner_number"), "partner_credits", ["partner_number"]
    )

    op.create_table(
        "paper_queue",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_queue")),
    )
    op.create_index(op.f("ix_paper_queue_exported_at"), "paper_queue", ["exported_at"])

    op.create_table(
        "invoice_events",
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invoice_number", "event", name=op.f("pk_invoice_events")),
    )

    op.create_table(
        "suspension_requests",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("ppe", sa.String(length=18), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("notice_served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_suspension_requests")),
    )
    op.create_index(
        op.f("ix_suspension_requests_invoice_number"), "suspension_requests", ["invoice_number"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_suspension_requests_invoice_number"), table_name="suspension_requests")
    op.drop_table("suspension_requests")
    op.drop_table("invoice_events")
    op.drop_index(op.f("ix_paper_queue_exported_at"), table_name="paper_queue")
    op.drop_table("paper_queue")
    op.drop_index(op.f("ix_partner_credits_partner_number"), table_name="partner_credits")
    op.drop_table("partner_credits")
    op.drop_index(op.f("ix_payments_invoice_number"), table_name="payments")
    op.drop_table("payments")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in reversed(_invoice_columns()):
            batch_op.drop_column(column.name)
