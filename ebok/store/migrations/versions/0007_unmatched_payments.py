"""payments no invoice could take, for staff to book by hand

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unmatched_payments",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("amount_grosze", sa.BigInteger(), nullable=False),
        sa.Column("why", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('provider', 'bank')", name=op.f("ck_unmatched_payments_source")
        ),
        sa.CheckConstraint("amount_grosze > 0", name=op.f("ck_unmatched_payments_amount")),
        sa.PrimaryKeyConstraint("source", "reference", name=op.f("pk_unmatched_payments")),
    )
    op.create_index(
        op.f("ix_unmatched_payments_recorded_at"), "unmatched_payments", ["recorded_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_unmatched_payments_recorded_at"), table_name="unmatched_payments")
    op.drop_table("unmatched_payments")
