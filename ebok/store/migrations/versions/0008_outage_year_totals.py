"""interruptions per PPE and incident, and their calendar-year totals

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "outage_interruptions",
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("ppe", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        _ts("recorded_at"),
        sa.PrimaryKeyConstraint("incident_id", "ppe", name=op.f("pk_outage_interruptions")),
    )
    op.create_table(
        "outage_year_totals",
        sa.Column("ppe", sa.String(length=18), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("planned_seconds", sa.BigInteger(), nullable=False),
        sa.Column("unplanned_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ppe", "year", name=op.f("pk_outage_year_totals")),
    )


def downgrade() -> None:
    op.drop_table("outage_year_totals")
    op.drop_table("outage_interruptions")
