"""roster: work team terms and check-in areas

Revision ID: attendance_0002
Revises: attendance_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "attendance_0002"
down_revision = "attendance_0001"
branch_labels = None
depends_on = None


def _region_index(table: str) -> None:
    # varchar_pattern_ops: region scope is a prefix match (LIKE '511529%')
    op.create_index(
        f"ix_{table}_region_code",
        table,
        ["region_code"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )


def upgrade() -> None:
    op.create_table(
        "team_member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("unit_name", sa.String(), nullable=False),
        sa.Column("unit_code", sa.String(), nullable=True),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=True),
        sa.Column("contact_leader_id", sa.Uuid(), nullable=True),
        sa.Column("branch_secretary_id", sa.Uuid(), nullable=True),
        sa.Column("end_cause", sa.String(), nullable=True),
        sa.Column("end_reason", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_team_member"),
        sa.CheckConstraint(
            "role IN ('first_secretary', 'team_leader', 'member')", name="ck_team_member_role"
        ),
        sa.CheckConstraint(
            "end_cause IN ('recalled', 'replaced', 'completed')", name="ck_team_member_end_cause"
        ),
        sa.CheckConstraint(
            "term_end IS NULL OR term_end >= term_start", name="ck_team_member_term_order"
        ),
    )
    op.create_index("ix_team_member_cadre_id", "team_member", ["cadre_id"])
    _region_index("team_member")

    op.create_table(
        "checkin_area",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("geometry", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_checkin_area"),
        sa.CheckConstraint("kind IN ('circle', 'polygon')", name="ck_checkin_area_kind"),
    )
    _region_index("checkin_area")


def downgrade() -> None:
    op.drop_table("checkin_area")
    op.drop_table("team_member")
