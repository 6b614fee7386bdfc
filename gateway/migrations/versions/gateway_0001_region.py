"""region

Revision ID: gateway_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0001"
down_revision = None
branch_labels = ("gateway",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("parent", sa.String(length=12), nullable=True),
        sa.PrimaryKeyConstraint("code", name="pk_region"),
    )
    op.create_index("ix_region_parent", "region", ["parent"])


def downgrade() -> None:
    op.drop_table("region")
