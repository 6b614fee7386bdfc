"""checkin: a reviewer's decision on a (flagged) check-in

Revision ID: attendance_0004
Revises: attendance_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "attendance_0004"
down_revision = "attendance_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "checkin", sa.Column("review", sa.String(), nullable=False, server_default="none")
    )
    op.add_column("checkin", sa.Column("reviewed_by", sa.Uuid(), nullable=True))
    op.add_column("checkin", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("checkin", sa.Column("review_note", sa.String(), nullable=True))
    op.create_check_constraint("review", "checkin", "review IN ('none', 'accepted', 'rejected')")


def downgrade() -> None:
    op.drop_constraint("ck_checkin_review", "checkin")
    for column in ("review_note", "reviewed_at", "reviewed_by", "review"):
        op.drop_column("checkin", column)
