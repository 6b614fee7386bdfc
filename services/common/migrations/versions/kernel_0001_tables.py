"""kernel tables: outbox, inbox, dead_letter, job_run

Revision ID: kernel_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def _now(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
    )


revision = "kernel_0001"
down_revision = None
branch_labels = ("kernel",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        _now("created_at"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["created_at"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    # The relay prunes what it published a while ago.
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    # The relay LISTENs on "outbox": a commit that wrote events wakes it at once.
    op.execute(
        "CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        _now("processed_at"),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consumer", sa.String(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("envelope", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        _now("created_at"),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letter"),
    )
    op.create_index(
        "uq_dead_letter_consumer_event_id", "dead_letter", ["consumer", "event_id"], unique=True
    )
    op.create_table(
        "job_run",
        sa.Column("job_name", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("outcome", postgresql.JSONB(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        _now("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job_name", "period", name="pk_job_run"),
    )


def downgrade() -> None:
    op.drop_table("job_run")
    op.drop_table("dead_letter")
    op.drop_table("inbox")
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION outbox_notify()")
    op.drop_table("outbox")
