"""sign-in throttling, credential generations and password resets

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("credential_generation", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_table(
        "sign_in_throttle",
        sa.Column("subject_key", sa.String(length=40), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lock_mailed", sa.Boolean(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_key", name=op.f("pk_sign_in_throttle")),
    )
    op.create_table(
        "sign_in_ip_failures",
        sa.Column("ip_key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ip_key", name=op.f("pk_sign_in_ip_failures")),
    )
    op.create_index(
        op.f("ix_sign_in_ip_failures_window_start"), "sign_in_ip_failures", ["window_start"]
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
    )
    op.create_index(op.f("ix_password_resets_account_id"), "password_resets", ["account_id"])
    op.create_table(
        "password_reset_hashes",
        sa.Column("redemption_id", sa.String(length=64), nullable=False),
        sa.Column("reset_id", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("redemption_id", name=op.f("pk_password_reset_hashes")),
    )
    op.create_index(
        op.f("ix_password_reset_hashes_reset_id"), "password_reset_hashes", ["reset_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_password_reset_hashes_reset_id"), table_name="password_reset_hashes")
    op.drop_table("password_reset_hashes")
    op.drop_index(op.f("ix_password_resets_account_id"), table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_index(op.f("ix_sign_in_ip_failures_window_start"), table_name="sign_in_ip_failures")
    op.drop_table("sign_in_ip_failures")
    op.drop_table("sign_in_throttle")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("credential_generation")
