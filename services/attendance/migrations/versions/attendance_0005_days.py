"""days in the village: leave requests, the counties' rules, the day-status read model

Revision ID: attendance_0005
Revises: attendance_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "attendance_0005"
down_revision = "attendance_0004"
branch_labels = None
depends_on = None

_STATUS = (
    "CASE WHEN present_checkins > 0 THEN 'present' "
    "WHEN absence_kind IS NOT NULL THEN absence_kind ELSE 'absent' END"
)
_KINDS = "('leave', 'training', 'trip')"


def upgrade() -> None:
    op.create_table(
        "leave_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("team_role", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_leave_request"),
        sa.CheckConstraint(f"kind IN {_KINDS}", name="kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'refused', 'cancelled')",
            name="status",
        ),
        sa.CheckConstraint("last_day >= first_day", name="day_order"),
    )
    op.create_index("ix_leave_request_cadre_id", "leave_request", ["cadre_id", "first_day"])
    op.create_index(
        "ix_leave_request_region_code",
        "leave_request",
        ["region_code"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )

    op.create_table(
        "cadre_day",
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("present_checkins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("flagged_checkins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("absence_kind", sa.String(), nullable=True),
        sa.Column("status", sa.String(), sa.Computed(_STATUS, persisted=True)),
        sa.PrimaryKeyConstraint("cadre_id", "day", name="pk_cadre_day"),
        sa.CheckConstraint(f"absence_kind IN {_KINDS}", name="absence_kind"),
        sa.CheckConstraint("present_checkins >= 0", name="present_checkins"),
    )
    # Reports: a region's days in a period (a prefix match on the code, then the days).
    op.create_index(
        "ix_cadre_day_region_code_day",
        "cadre_day",
        ["region_code", "day"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )

    op.create_table(
        "attendance_rule",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("min_days_per_month", sa.Integer(), nullable=False),
        sa.Column("min_days_per_year", sa.Integer(), nullable=True),
        sa.Column("counted", postgresql.ARRAY(sa.String()), nullable=False),
        sa.Column("absence_alert_days", sa.Integer(), nullable=False),
        sa.Column("absence_alert_delay_days", sa.Integer(), nullable=False),
        sa.Column("approvers", postgresql.JSONB(), nullable=False),
        sa.Column("max_travel_kmh", sa.Float(), nullable=False),
        sa.Column("max_clock_ahead_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", name="pk_attendance_rule"),
    )


def downgrade() -> None:
    op.drop_table("attendance_rule")
    op.drop_table("cadre_day")
    op.drop_table("leave_request")
