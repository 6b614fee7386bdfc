"""supervision: spot checks and whom they found, conduct supervisors' reports, heart-to-heart talks

Revision ID: attendance_0007
Revises: attendance_0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "attendance_0007"
down_revision = "attendance_0006"
branch_labels = None
depends_on = None

_ROLES = "('first_secretary', 'team_leader', 'member')"


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
        "spot_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visit_day", sa.Date(), nullable=False),
        sa.Column("inspector_id", sa.Uuid(), nullable=False),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spot_check"),
        sa.UniqueConstraint("client_id", name="uq_spot_check_client_id"),
        sa.CheckConstraint("photo_sha256 ~ '^[0-9a-f]{64}$'", name="photo_sha256"),
    )
    _region_index("spot_check")
    op.create_index("ix_spot_check_visited_at_id", "spot_check", ["visited_at", "id"])

    op.create_table(
        "spot_check_cadre",
        sa.Column("spot_check_id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("absence_kind", sa.String(), nullable=True),
        sa.Column("leave_request_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("spot_check_id", "cadre_id", name="pk_spot_check_cadre"),
        sa.ForeignKeyConstraint(
            ["spot_check_id"],
            ["spot_check.id"],
            name="fk_spot_check_cadre_spot_check_id_spot_check",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["team_member.id"], name="fk_spot_check_cadre_member_id_team_member"
        ),
        sa.ForeignKeyConstraint(
            ["leave_request_id"],
            ["leave_request.id"],
            name="fk_spot_check_cadre_leave_request_id_leave_request",
        ),
        sa.CheckConstraint(f"role IN {_ROLES}", name="role"),
        sa.CheckConstraint("absence_kind IN ('leave', 'training', 'trip')", name="absence_kind"),
        # Only a cadre not found can be excused, and only by an approved request.
        sa.CheckConstraint(
            "(absence_kind IS NULL) = (leave_request_id IS NULL) "
            "AND (NOT found OR absence_kind IS NULL)",
            name="excused",
        ),
    )
    # How often a cadre was found absent (notices, the annual assessment).
    op.create_index("ix_spot_check_cadre_cadre_id", "spot_check_cadre", ["cadre_id"])

    op.create_table(
        "conduct_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("supervisor_id", sa.Uuid(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("presence", sa.String(), nullable=False),
        sa.Column("conduct", sa.String(), nullable=False),
        sa.Column("concerns", postgresql.JSONB(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conduct_report"),
        sa.CheckConstraint("presence IN ('always', 'mostly', 'rarely', 'never')", name="presence"),
        sa.CheckConstraint("last_day >= first_day", name="day_order"),
    )
    _region_index("conduct_report")
    op.create_index("ix_conduct_report_reported_at_id", "conduct_report", ["reported_at", "id"])

    op.create_table(
        "talk",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("talked_on", sa.Date(), nullable=False),
        sa.Column("held_by", sa.Uuid(), nullable=False),
        sa.Column("topics", sa.String(), nullable=False),
        sa.Column("problems", postgresql.JSONB(), nullable=False),
        sa.Column("care", sa.String(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_by", sa.Uuid(), nullable=True),
        sa.Column("escalation_note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_talk"),
        sa.ForeignKeyConstraint(
            ["member_id"], ["team_member.id"], name="fk_talk_member_id_team_member"
        ),
        sa.CheckConstraint(f"role IN {_ROLES}", name="role"),
        sa.CheckConstraint(
            "(escalated_at IS NULL) = (escalated_by IS NULL) "
            "AND (escalated_at IS NULL) = (escalation_note IS NULL)",
            name="escalation",
        ),
    )
    _region_index("talk")
    # The month's talks of a cadre: what the list of missing talks asks for each term.
    op.create_index("ix_talk_cadre_id_talked_on", "talk", ["cadre_id", "talked_on"])


def downgrade() -> None:
    op.drop_table("talk")
    op.drop_table("conduct_report")
    op.drop_table("spot_check_cadre")
    op.drop_table("spot_check")
