"""the subject line of every mail sent, for the account's data export (GDPR art. 15)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: mails logged before this revision have no subject on record.
    with op.batch_alter_table("sent_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=998), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sent_mail", schema=None) as batch_op:
        batch_op.drop_column("subject")
