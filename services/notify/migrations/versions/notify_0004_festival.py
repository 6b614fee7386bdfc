"""festival: a county's own (ethnic) festivals, year by year

Revision ID: notify_0004
Revises: notify_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0004"
down_revision = "notify_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "county_festival",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_county_festival"),
        # Also the index of a county's festivals of a year (county_code leads).
        sa.UniqueConstraint(
            "county_code", "code", "year", name="uq_county_festival_county_code_code_year"
        ),
        sa.CheckConstraint("county_code ~ '^[0-9]{6}$'", name="ck_county_festival_county_code"),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_]*$'", name="ck_county_festival_code"),
        sa.CheckConstraint("last_day >= first_day", name="ck_county_festival_day_order"),
        sa.CheckConstraint(
            "year = EXTRACT(YEAR FROM first_day)", name="ck_county_festival_year_of_first_day"
        ),
    )


def downgrade() -> None:
    op.drop_table("county_festival")
