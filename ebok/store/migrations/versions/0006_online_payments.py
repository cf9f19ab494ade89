"""pay-online links for what is left to pay

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_payments",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("amount_grosze", sa.BigInteger(), nullable=False),
        sa.Column("provider_ref", sa.String(length=120), nullable=False),
        sa.Column("redirect_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_number"], ["invoices.number"], name="fk_online_payments_invoice_number"
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_online_payments")),
    )
    op.create_index(
        op.f("ix_online_payments_invoice_number"), "online_payments", ["invoice_number"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_online_payments_invoice_number"), table_name="online_payments")
    op.drop_table("online_payments")
