"""template: the provider's own template variables, each from ours (provider_params)

An SMS provider renders its approved template itself, from the values we send under its own
variable names (Aliyun: named, ${name}; Tencent: by position, {1}, {2}); a WeChat template
message takes its data under the official account template's keys (thing1, time2, ...).

Revision ID: notify_0006
Revises: notify_0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "notify_0006"
down_revision = "notify_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "template",
        sa.Column("provider_params", postgresql.JSONB(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    op.drop_column("template", "provider_params")
