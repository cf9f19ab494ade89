"""e-invoice consents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "einvoice_consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("terms_version", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_channel", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_number"],
            ["business_partners.number"],
            name="fk_einvoice_consents_partner_number",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_einvoice_consents")),
    )
    op.create_index(
        "uq_einvoice_consents_active_partner",
        "einvoice_consents",
        ["partner_number"],
        unique=True,
        sqlite_where=sa.text("withdrawn_at IS NULL"),
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_einvoice_consents_active_partner", table_name="einvoice_consents")
    op.drop_table("einvoice_consents")
