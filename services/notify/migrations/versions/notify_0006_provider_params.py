"""template: the provider's own template variables, each from ours (provider_params); the
dispatcher's claim indexes, one for alerts and one for a campaign's greetings; a campaign's
request key (the Idempotency-Key its creator sent, so a retried POST creates no second one);
whether a contact's order of channels is one they chose (only such an order leads)

An SMS provider renders its approved template itself, from the values we send under its own
variable names (Aliyun: named, ${name}; Tencent: by position, {1}, {2}); a WeChat template
message takes its data under the official account template's keys (thing1, time2, ...).

The claim reads alerts by provider in the order they became due, and greetings by provider
and campaign (of the campaigns sending, outside their county's quiet hours): neither reads a
row only to pass it over, however many greetings wait out the night or a paused campaign.

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
    op.drop_index("ix_message_due", "message")
    op.create_index(
        "ix_message_due_alert",
        "message",
        ["provider", "not_before"],
        postgresql_where=sa.text("status = 'queued' AND priority = 'alert'"),
    )
    op.create_index(
        "ix_message_due_greeting",
        "message",
        ["provider", "campaign_id", "not_before"],
        postgresql_where=sa.text("status = 'queued' AND priority = 'greeting'"),
    )
    op.add_column(
        "contact",
        sa.Column("channels_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("campaign", sa.Column("request_key", sa.String(length=100), nullable=True))
    op.create_index(
        "uq_campaign_created_by_request_key",
        "campaign",
        ["created_by", "request_key"],
        unique=True,
        postgresql_where=sa.text("request_key IS NOT NULL"),
    )
    op.add_column(
        "template",
        sa.Column("provider_params", postgresql.JSONB(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    op.drop_column("contact", "channels_chosen")
    op.drop_index("uq_campaign_created_by_request_key", "campaign")
    op.drop_column("campaign", "request_key")
    op.drop_column("template", "provider_params")
    op.drop_index("ix_message_due_greeting", "message")
    op.drop_index("ix_message_due_alert", "message")
    op.create_index(
        "ix_message_due",
        "message",
        ["priority", "not_before"],
        postgresql_where=sa.text("status = 'queued'"),
    )
