"""contacts, templates, alert routes, campaigns, quiet hours; the message gains its delivery

Revision ID: notify_0002
Revises: notify_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None

_TEXTS = postgresql.ARRAY(sa.String())


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


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
        "contact_list",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_contact_list"),
    )
    _region_index("contact_list")
    op.create_table(
        "contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("roles", _TEXTS, nullable=False, server_default="{}"),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("unit_code", sa.String(), nullable=True),
        sa.Column("phone_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(), nullable=True),
        sa.Column("wechat_openid", sa.String(), nullable=True),
        sa.Column("wecom_key_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("channels", _TEXTS, nullable=False, server_default="{sms}"),
        sa.Column("away", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _moment("facts_at"),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_contact"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_list.id"],
            name="fk_contact_list_id_contact_list",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("kind IN ('user', 'listed', 'unit')", name="ck_contact_kind"),
        sa.CheckConstraint("(kind = 'listed') = (list_id IS NOT NULL)", name="ck_contact_listed"),
        sa.CheckConstraint("(kind = 'unit') = (unit_code IS NOT NULL)", name="ck_contact_unit"),
    )
    _region_index("contact")
    op.create_index("ix_contact_list_id", "contact", ["list_id"])
    op.create_index("ix_contact_phone_hash", "contact", ["phone_hash"])
    op.create_index("ix_contact_unit_code", "contact", ["unit_code"])
    op.create_index(
        "uq_contact_list_id_phone_hash", "contact", ["list_id", "phone_hash"], unique=True
    )
    op.create_table(
        "roster_entry",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("unit_name", sa.String(), nullable=False),
        sa.Column("unit_code", sa.String(), nullable=True),
        sa.Column("contact_leader_id", sa.Uuid(), nullable=True),
        sa.Column("branch_secretary_id", sa.Uuid(), nullable=True),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=True),
        sa.Column("ended", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("member_id", name="pk_roster_entry"),
    )
    op.create_index("ix_roster_entry_cadre_id", "roster_entry", ["cadre_id"])
    _region_index("roster_entry")
    op.create_table(
        "opt_out",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        _moment("opted_out_at"),
        sa.Column("via", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", name="pk_opt_out"),
    )
    op.create_table(
        "quiet_hours",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("county_code", name="pk_quiet_hours"),
        sa.CheckConstraint("starts <> ends", name="ck_quiet_hours_not_empty"),
    )
    op.create_table(
        "template",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("variables", _TEXTS, nullable=False),
        sa.Column("provider_template_code", sa.String(), nullable=True),
        sa.Column("sign_name", sa.String(), nullable=True),
        sa.Column("max_parts", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        _moment("created_at"),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_template"),
        sa.UniqueConstraint("code", "channel", name="uq_template_code_channel"),
        sa.CheckConstraint(
            "channel IN ('sms', 'wechat', 'wecom', 'console')", name="ck_template_channel"
        ),
        sa.CheckConstraint("max_parts BETWEEN 1 AND 10", name="ck_template_max_parts"),
    )
    op.create_table(
        "alert_route",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("recipients", _TEXTS, nullable=False),
        sa.Column("template_code", sa.String(), nullable=False),
        sa.Column("channels", _TEXTS, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        _moment("created_at"),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_route"),
    )
    op.create_index("ix_alert_route_event_type", "alert_route", ["event_type"])
    op.create_table(
        "campaign",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("festival_code", sa.String(), nullable=True),
        sa.Column("festival_day", sa.Date(), nullable=True),
        _moment("send_at"),
        sa.Column("template_code", sa.String(), nullable=False),
        sa.Column("channels", _TEXTS, nullable=False),
        sa.Column("audience_roles", _TEXTS, nullable=False),
        sa.Column("audience_list_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        _moment("planned_at", nullable=True),
        _moment("completed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_campaign"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sending', 'paused', 'completed', 'cancelled')",
            name="ck_campaign_status",
        ),
    )
    _region_index("campaign")
    op.create_index(
        "ix_campaign_send_at_scheduled",
        "campaign",
        ["send_at"],
        postgresql_where=sa.text("status = 'scheduled'"),
    )

    # The message gains what delivery needs. The check-in receipts already stored were sent
    # through the console: each keeps its own id as its key.
    for column in (
        sa.Column("idempotency_key", sa.Uuid(), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(), nullable=False, server_default="alert"),
        sa.Column("provider", sa.String(), nullable=False, server_default="console"),
        sa.Column("params", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("provider_template_code", sa.String(), nullable=True),
        sa.Column("sign_name", sa.String(), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("address_masked", sa.String(), nullable=True),
        sa.Column("fallback", _TEXTS, nullable=False, server_default="{}"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_message_id", sa.String(), nullable=True),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("error_detail", sa.String(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("message", column)
    op.execute(
        "UPDATE message SET idempotency_key = id, not_before = created_at, "
        "updated_at = coalesce(sent_at, created_at)"
    )
    for name in ("idempotency_key", "not_before", "updated_at"):
        op.alter_column("message", name, nullable=False)
    op.create_unique_constraint("uq_message_idempotency_key", "message", ["idempotency_key"])
    op.create_check_constraint(
        "ck_message_status",
        "message",
        "status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'opted_out', 'cancelled')",
    )
    op.create_check_constraint(
        "ck_message_priority", "message", "priority IN ('alert', 'greeting')"
    )
    # What the dispatcher claims: only queued rows are in it, so a million sent ones cost it
    # nothing.
    op.create_index(
        "ix_message_due",
        "message",
        ["priority", "not_before"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    # What the sender takes over from a process that died mid-send (lease run out).
    op.create_index(
        "ix_message_sending",
        "message",
        ["lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_index(
        "ix_message_provider_message_id",
        "message",
        ["provider", "provider_message_id"],
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    op.create_index("ix_message_campaign_id_status", "message", ["campaign_id", "status"])
    # Campaign messages have no event: the index keeps to the ones that do.
    op.drop_index("ix_message_event_id", "message")
    op.create_index(
        "ix_message_event_id",
        "message",
        ["event_id"],
        postgresql_where=sa.text("event_id IS NOT NULL"),
    )
    _region_index("message")


def downgrade() -> None:
    for index in (
        "ix_message_region_code",
        "ix_message_campaign_id_status",
        "ix_message_provider_message_id",
        "ix_message_sending",
        "ix_message_due",
        "ix_message_event_id",
    ):
        op.drop_index(index, "message")
    op.create_index("ix_message_event_id", "message", ["event_id"])
    op.drop_constraint("ck_message_priority", "message")
    op.drop_constraint("ck_message_status", "message")
    op.drop_constraint("uq_message_idempotency_key", "message")
    for column in (
        "idempotency_key",
        "campaign_id",
        "route_id",
        "priority",
        "provider",
        "params",
        "provider_template_code",
        "sign_name",
        "parts",
        "address_masked",
        "fallback",
        "attempts",
        "not_before",
        "lease_until",
        "provider_message_id",
        "error_code",
        "error_detail",
        "delivered_at",
        "updated_at",
    ):
        op.drop_column("message", column)
    for table in (
        "campaign",
        "alert_route",
        "template",
        "quiet_hours",
        "opt_out",
        "roster_entry",
        "contact",
        "contact_list",
    ):
        op.drop_table(table)
