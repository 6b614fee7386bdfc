"""signing_key.signs_from: a new key is published before it signs

Revision ID: gateway_0005
Revises: gateway_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signing_key", sa.Column("signs_from", sa.DateTime(timezone=True)))
    op.execute("UPDATE signing_key SET signs_from = created_at")
    op.alter_column("signing_key", "signs_from", nullable=False)


def downgrade() -> None:
    op.drop_column("signing_key", "signs_from")
