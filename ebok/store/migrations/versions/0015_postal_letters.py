"""registered letters and the partners' postal addresses

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "postal_letters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("tracking_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("refused_on", sa.Date(), nullable=True),
        sa.Column("notice_left_on", sa.Date(), nullable=True),
        sa.Column("collected_on", sa.Date(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_postal_letters")),
        sa.UniqueConstraint("tracking_id", name=op.f("uq_postal_letters_tracking_id")),
    )
    op.create_index(op.f("ix_postal_letters_invoice_number"), "postal_letters", ["invoice_number"])
    op.create_table(
        "postal_addresses",
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_number", name=op.f("pk_postal_addresses")),
    )


def downgrade() -> None:
    op.drop_table("postal_addresses")
    op.drop_index(op.f("ix_postal_letters_invoice_number"), table_name="postal_letters")
    op.drop_table("postal_letters")
