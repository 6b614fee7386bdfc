"""checkin: the coordinate system, the device, and the judgement kept with each check-in

Revision ID: attendance_0003
Revises: attendance_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "attendance_0003"
down_revision = "attendance_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "checkin",
        sa.Column("coordinate_system", sa.String(), nullable=False, server_default="wgs84"),
    )
    op.add_column("checkin", sa.Column("wgs84_latitude", sa.Float(), nullable=True))
    op.add_column("checkin", sa.Column("wgs84_longitude", sa.Float(), nullable=True))
    op.add_column("checkin", sa.Column("device", sa.String(), nullable=True))
    op.add_column(
        "checkin",
        sa.Column("mock_location", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("checkin", sa.Column("inside", sa.Boolean(), nullable=True))
    op.add_column("checkin", sa.Column("distance_m", sa.Float(), nullable=True))
    op.add_column(
        "checkin",
        sa.Column("flags", postgresql.ARRAY(sa.String()), nullable=False, server_default="{}"),
    )
    # Check-ins before this were taken as WGS-84, and judged by nobody.
    op.execute("UPDATE checkin SET wgs84_latitude = latitude, wgs84_longitude = longitude")
    op.alter_column("checkin", "wgs84_latitude", nullable=False)
    op.alter_column("checkin", "wgs84_longitude", nullable=False)
    op.create_check_constraint(
        "coordinate_system", "checkin", "coordinate_system IN ('wgs84', 'gcj02', 'bd09')"
    )
    # The cadre's check-in before this one (impossible travel) is read on every check-in.
    op.create_index("ix_checkin_cadre_id_client_time", "checkin", ["cadre_id", "client_time"])


def downgrade() -> None:
    op.drop_index("ix_checkin_cadre_id_client_time", "checkin")
    op.drop_constraint("ck_checkin_coordinate_system", "checkin")
    for column in (
        "flags",
        "distance_m",
        "inside",
        "mock_location",
        "device",
        "wgs84_longitude",
        "wgs84_latitude",
        "coordinate_system",
    ):
        op.drop_column("checkin", column)
