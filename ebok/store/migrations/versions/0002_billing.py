"""billing: business partners, contract accounts, points of delivery, invoices, partner links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_partners",
        sa.Column("number", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nip", sa.String(length=10), nullable=True),
        sa.Column("pesel", sa.String(length=11), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('household', 'business')", name=op.f("ck_business_partners_kind")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_business_partners")),
        sa.UniqueConstraint("nip", name=op.f("uq_business_partners_nip")),
    )
    op.create_table(
        "contract_accounts",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_number"],
            ["business_partners.number"],
            name=op.f("fk_contract_accounts_partner_number"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_contract_accounts")),
    )
    with op.batch_alter_table("contract_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_accounts_partner_number"), ["partner_number"], unique=False
        )

    op.create_table(
        "points_of_delivery",
        sa.Column("ppe", sa.String(length=18), nullable=False),
        sa.Column("contract_account", sa.String(length=12), nullable=False),
        sa.Column("legacy_ppe", sa.String(length=40), nullable=True),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("tariff", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_account"],
            ["contract_accounts.number"],
            name=op.f("fk_points_of_delivery_contract_account"),
        ),
        sa.PrimaryKeyConstraint("ppe", name=op.f("pk_points_of_delivery")),
        sa.UniqueConstraint("legacy_ppe", name=op.f("uq_points_of_delivery_legacy_ppe")),
    )
    with op.batch_alter_table("points_of_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_points_of_delivery_contract_account"), ["contract_account"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("contract_account", sa.String(length=12), nullable=False),
        sa.Column("gross_grosze", sa.BigInteger(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_account"],
            ["contract_accounts.number"],
            name=op.f("fk_invoices_contract_account"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_number"],
            ["business_partners.number"],
            name=op.f("fk_invoices_partner_number"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_invoices")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_contract_account"), ["contract_account"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_partner_number"), ["partner_number"], unique=False
        )

    op.create_table(
        "partner_links",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "method IN ('invoice', 'ppe', 'staff')", name=op.f("ck_partner_links_method")
        ),
        sa.ForeignKeyConstraint(
            ["partner_number"],
            ["business_partners.number"],
            name=op.f("fk_partner_links_partner_number"),
        ),
        sa.PrimaryKeyConstraint("account_id", "partner_number", name=op.f("pk_partner_links")),
    )
    with op.batch_alter_table("partner_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_links_partner_number"), ["partner_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("partner_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_links_partner_number"))

    op.drop_table("partner_links")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_partner_number"))
        batch_op.drop_index(batch_op.f("ix_invoices_contract_account"))

    op.drop_table("invoices")
    with op.batch_alter_table("points_of_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_of_delivery_contract_account"))

    op.drop_table("points_of_delivery")
    with op.batch_alter_table("contract_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_accounts_partner_number"))

    op.drop_table("contract_accounts")
    op.drop_table("business_partners")
