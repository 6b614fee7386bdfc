"""checkin: the phone's clock as it sent the check-in (a clock set back is flagged)

Revision ID: attendance_0009
Revises: attendance_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "attendance_0009"
down_revision = "attendance_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("checkin", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("checkin", "sent_at")
