"""checkin

Revision ID: attendance_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "attendance_0001"
down_revision = None
branch_labels = ("attendance",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "checkin",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("client_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_checkin"),
        sa.UniqueConstraint("client_id", name="uq_checkin_client_id"),
    )
    op.create_index("ix_checkin_cadre_id", "checkin", ["cadre_id"])
    # varchar_pattern_ops: region scope is a prefix match (LIKE '511529%')
    op.create_index(
        "ix_checkin_region_code",
        "checkin",
        ["region_code"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )
    op.create_index("ix_checkin_recorded_at_id", "checkin", ["recorded_at", "id"])


def downgrade() -> None:
    op.drop_table("checkin")
