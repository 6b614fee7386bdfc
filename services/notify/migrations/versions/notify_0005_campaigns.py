"""campaign: who a greeting is signed by (the `sender` variable of a greeting template)

Revision ID: notify_0005
Revises: notify_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0005"
down_revision = "notify_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A default, so the campaigns already stored (none sent yet) keep a signature.
    op.add_column(
        "campaign",
        sa.Column("sender", sa.String(), nullable=False, server_default="驻村工作队"),
    )


def downgrade() -> None:
    op.drop_column("campaign", "sender")
