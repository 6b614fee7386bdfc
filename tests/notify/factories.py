"""Small builders of notify's records and requests, with defaults a test overrides."""

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.common.contracts.attendance import AbsenceDetected
from services.common.db import plain_url
from services.common.events import Event, make_event
from services.common.sensitive import SensitiveData, mask_phone
from services.common.settings import DEV_DATA_KEY, DEV_HASH_KEY

NOTIFY = "/api/v1/notify"
TEMPLATES = f"{NOTIFY}/templates"
ALERT_ROUTES = f"{NOTIFY}/alert-routes"
QUIET_HOURS = f"{NOTIFY}/quiet-hours"
VILLAGE = "511529100201"  # 锦屏一村, 屏山县
# The keys the test apps run with (the development ones: no test sets others).
VAULT = SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY)


def template_body(**overrides: Any) -> dict[str, Any]:
    """A PUT /templates body: an absence alert by SMS."""
    return {
        "purpose": "attendance.absence.detected",
        "name": "缺勤提醒",
        "body": "{{ recipient_name }}您好：{{ cadre_name }}已连续{{ days }}天不在村，请核实。",
        "sign_name": "驻村管理",
        **overrides,
    }


def route_body(**overrides: Any) -> dict[str, Any]:
    """A POST /alert-routes body: absences to the contact leader by SMS (the seeded template)."""
    return {
        "event_type": "attendance.absence.detected",
        "recipients": ["contact_leader"],
        "template_code": "absence_alert",
        "channels": ["sms"],
        "enabled": True,
        **overrides,
    }


def route_set(route: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A route as the API gave it, as the body that sets it again (with the overrides)."""
    keys = ("event_type", "recipients", "template_code", "channels", "enabled")
    return {**{k: route[k] for k in keys}, **overrides}


def absence_event(**overrides: Any) -> Event:
    """连续缺勤: attendance's event of a cadre absent for 3 days."""
    data = {
        "member_id": uuid4(),
        "team_role": "member",
        "contact_leader_id": uuid4(),
        "branch_secretary_id": uuid4(),
        "unit_name": "县农业农村局",
        "unit_code": None,
        "cadre_id": uuid4(),
        "region_code": VILLAGE,
        "first_day": date(2026, 11, 16),
        "last_day": date(2026, 11, 18),
        "days": 3,
        **overrides,
    }
    return make_event(
        AbsenceDetected(**data),
        source="/tests",
        subject=data["member_id"],
        region_code=data["region_code"],
    )


async def user_contact(db: str, *, phone: str = "13800001111", **overrides: Any) -> UUID:
    """A user notify knows (as identity's events would have told it), reachable by SMS."""
    row = {
        "id": uuid4(),
        "kind": "user",
        "name": "李明华",
        "region_code": VILLAGE,
        "roles": ["contact_leader"],
        "phone_encrypted": VAULT.encrypt(phone),
        "phone_hash": VAULT.hash(phone),
        "phone_masked": mask_phone(phone),
        "facts_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
        **overrides,
    }
    columns = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(f"INSERT INTO contact ({columns}) VALUES ({params})", *row.values())
    finally:
        await conn.close()
    return row["id"]


async def queued_message(db: str, *, priority: str, region_code: str = VILLAGE) -> UUID:
    """A message waiting for the dispatcher, to the log (console): an alert or a greeting."""
    message = uuid4()
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(
            "INSERT INTO message (id, idempotency_key, recipient_id, region_code, priority, "
            "channel, provider, template, body, status, created_at, not_before, updated_at) "
            "VALUES ($1, $1, $2, $3, $4, 'console', 'console', 'festival_greeting', '中秋快乐', "
            "'queued', now(), now(), now())",
            message,
            uuid4(),
            region_code,
            priority,
        )
    finally:
        await conn.close()
    return message
