"""the default templates and alert routes (DOMAIN.md: alerts go to the responsible person)

An absence to the contact leader (a first secretary's) or the branch secretary (a member's)
and the dispatching unit; a month below the minimum, a year below it and an escalated talk to
the township; a spot check's "not found" to the contact leader or branch secretary; a check-in
receipt to the cadre in the log. Counties change them through the API (/alert-routes,
/templates); SMS templates need the provider's approved template code and sign set there.

Revision ID: notify_0003
Revises: notify_0002
"""

import hashlib
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from alembic import op
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None

_PARTY = "{{ recipient_name }}您好："
# (code, channel, purpose, name, body, variables)
TEMPLATES = [
    (
        "checkin_receipt",
        "console",
        "attendance.checkin.recorded",
        "签到回执",
        "您于 {{ time }} 在 {{ village }} 的{{ kind }}已记录。",
    ),
    *(
        (
            "absence_alert",
            channel,
            "attendance.absence.detected",
            "连续缺勤提醒",
            _PARTY + "驻村干部{{ cadre_name }}（{{ unit_name }}）自{{ first_day }}起已连续"
            "{{ days }}天不在{{ village }}且未请假，请核实。",
        )
        for channel in ("sms", "wecom")
    ),
    (
        "monthly_minimum_alert",
        "sms",
        "attendance.monthly_minimum.missed",
        "在村天数不足提醒",
        _PARTY + "驻村干部{{ cadre_name }}{{ month }}在村{{ counted }}天，少于规定的"
        "{{ required }}天，请督促。",
    ),
    (
        "yearly_minimum_alert",
        "sms",
        "attendance.yearly_minimum.missed",
        "全年在村天数不足提醒",
        _PARTY + "驻村干部{{ cadre_name }}{{ year }}年在村{{ counted }}天，少于规定的"
        "{{ required }}天。",
    ),
    (
        "spotcheck_absent_alert",
        "sms",
        "attendance.spotcheck.recorded",
        "明察暗访未见到人提醒",
        _PARTY + "{{ visit_day }}明察暗访时驻村干部{{ cadre_name }}不在{{ village }}，"
        "且无请假，请核实。",
    ),
    (
        "talk_escalated_alert",
        "sms",
        "attendance.talk.escalated",
        "谈心谈话问题上报",
        _PARTY + "驻村干部{{ cadre_name }}{{ talked_on }}谈心谈话中反映的问题未能解决，"
        "已上报：{{ problems }}",
    ),
    (
        "festival_greeting",
        "sms",
        "greeting",
        "节日问候",
        "{{ name }}您好！{{ festival }}到了，驻村工作队祝您节日快乐、阖家幸福！",
    ),
]
# (event type, recipients, template, channels)
ROUTES = [
    ("attendance.checkin.recorded", ["cadre"], "checkin_receipt", ["console"]),
    (
        "attendance.absence.detected",
        ["contact_leader", "branch_secretary", "dispatching_unit"],
        "absence_alert",
        ["sms", "wecom"],
    ),
    ("attendance.monthly_minimum.missed", ["township"], "monthly_minimum_alert", ["sms"]),
    ("attendance.yearly_minimum.missed", ["township"], "yearly_minimum_alert", ["sms"]),
    (
        "attendance.spotcheck.recorded",
        ["contact_leader", "branch_secretary"],
        "spotcheck_absent_alert",
        ["sms"],
    ),
    ("attendance.talk.escalated", ["township"], "talk_escalated_alert", ["sms"]),
]


def _id(*parts: str) -> UUID:
    return UUID(hashlib.md5("|".join(("notify_0003", *parts)).encode()).hexdigest())


def upgrade() -> None:
    env = SandboxedEnvironment()
    template = sa.table(
        "template",
        *(sa.column(c) for c in ("id", "code", "channel", "purpose", "name", "body")),
        sa.column("variables", sa.ARRAY(sa.String())),
        sa.column("sign_name"),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    route = sa.table(
        "alert_route",
        sa.column("id"),
        sa.column("event_type"),
        sa.column("recipients", sa.ARRAY(sa.String())),
        sa.column("template_code"),
        sa.column("channels", sa.ARRAY(sa.String())),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        template,
        [
            {
                "id": _id(code, channel),
                "code": code,
                "channel": channel,
                "purpose": purpose,
                "name": name,
                "body": body,
                "variables": sorted(meta.find_undeclared_variables(env.parse(body))),
                "sign_name": "驻村管理" if channel == "sms" else None,
                "created_at": now,
                "updated_at": now,
            }
            for code, channel, purpose, name, body in TEMPLATES
        ],
    )
    op.bulk_insert(
        route,
        [
            {
                "id": _id(event_type, code),
                "event_type": event_type,
                "recipients": recipients,
                "template_code": code,
                "channels": channels,
                "created_at": now,
                "updated_at": now,
            }
            for event_type, recipients, code, channels in ROUTES
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM alert_route")
    op.execute("DELETE FROM template")
