"""refresh_token.revoked_at indexed: the gateway rereads recently ended sign-ins every few seconds

Revision ID: gateway_0004
Revises: gateway_0003
"""

from alembic import op

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_refresh_token_revoked_at", "refresh_token", ["revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_refresh_token_revoked_at", "refresh_token")
