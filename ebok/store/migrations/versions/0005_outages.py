"""outage reports, incidents and compensation entitlements

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outage_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("reporter_key", sa.String(length=340), nullable=False),
        sa.Column("open_key", sa.String(length=360), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("partner_number", sa.String(length=10), nullable=True),
        sa.Column("household", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("ppe", sa.String(length=18), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("incident_id", sa.String(length=120), nullable=True),
        sa.Column("moved_from", sa.String(length=120), nullable=True),
        sa.Column("notice_serial", sa.Integer(), nullable=False),
        _ts("reported_at", nullable=False),
        _ts("attached_at"),
        _ts("power_back_at"),
        _ts("closed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_reports")),
        sa.UniqueConstraint("open_key", name=op.f("uq_outage_reports_open_key")),
    )
    op.create_index(
        op.f("ix_outage_reports_incident_id_id"), "outage_reports", ["incident_id", "id"]
    )
    op.create_table(
        "outage_report_notes",
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        _ts("added_at", nullable=False),
        sa.PrimaryKeyConstraint("report_id", "serial", name=op.f("pk_outage_report_notes")),
    )
    op.create_table(
        "outage_incidents",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("dso_reference", sa.String(length=64), nullable=True),
        sa.Column("phase", sa.String(length=24), nullable=False),
        _ts("opened_at", nullable=False),
        _ts("closed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_incidents")),
        sa.UniqueConstraint("open_key", name=op.f("uq_outage_incidents_open_key")),
        sa.UniqueConstraint("dso_reference", name=op.f("uq_outage_incidents_dso_reference")),
    )
    op.create_table(
        "outage_compensations",
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("ppe", sa.String(length=18), nullable=False),
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("partner_number", sa.String(length=10), nullable=True),
        _ts("interruption_start", nullable=False),
        _ts("interruption_end"),
        _ts("recorded_at", nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "ppe", name=op.f("pk_outage_compensations")),
    )
    op.create_index(op.f("ix_outage_compensations_ppe"), "outage_compensations", ["ppe"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outage_compensations_ppe"), table_name="outage_compensations")
    op.drop_table("outage_compensations")
    op.drop_table("outage_incidents")
    op.drop_table("outage_report_notes")
    op.drop_index(op.f("ix_outage_reports_incident_id_id"), table_name="outage_reports")
    op.drop_table("outage_reports")
