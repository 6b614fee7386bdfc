"""provider_pace: when each provider may next be sent to, shared by every notify replica

Revision ID: notify_0007
Revises: notify_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0007"
down_revision = "notify_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_pace",
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", name="pk_provider_pace"),
    )


def downgrade() -> None:
    op.drop_table("provider_pace")
