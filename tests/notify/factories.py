"""Small builders of notify's records and requests, with defaults a test overrides."""

import csv
import io
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import jwt
from openpyxl import Workbook

from services.common.contracts.attendance import AbsenceDetected
from services.common.contracts.identity import UserCreated
from services.common.db import plain_url
from services.common.events import Event, make_event
from services.common.sensitive import SensitiveData, mask_phone
from services.common.settings import DEV_DATA_KEY, DEV_HASH_KEY
from services.notify.contacts.sheets import CSV
from services.notify.settings import NotifySettings

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


CONTACTS = f"{NOTIFY}/contacts"
CONTACT_LISTS = f"{NOTIFY}/contact-lists"
LIST_HEADER = ("姓名", "手机号", "区划代码", "在外")


def list_csv(
    rows: Sequence[Sequence[Any]], header: Sequence[str] = LIST_HEADER, encoding: str = "utf-8-sig"
) -> bytes:
    """A list as Excel saves it as CSV: UTF-8 with a BOM, or `gbk` for plain "CSV"."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows([header, *rows])
    return text.getvalue().encode(encoding)


def list_xlsx(rows: Sequence[Sequence[Any]], header: Sequence[str] = LIST_HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in [header, *rows]:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload_list(
    client: Any,
    content: bytes,
    content_type: str = CSV,
    *,
    name: str = "锦屏一村外出务工人员",
    region_code: str = "511529100201",
    headers: dict[str, str] | None = None,
) -> Any:
    """POST the file itself, as the county's web page uploads a list."""
    return await client.post(
        CONTACT_LISTS,
        params={"name": name, "region_code": region_code},
        content=content,
        headers={"content-type": content_type, **(headers or {})},
    )


def notify_vault() -> SensitiveData:
    """The data keys the notify app under test seals phones with (its settings' defaults)."""
    settings = NotifySettings(database_url="postgresql://unused/notify", nats_url="nats://unused")
    return SensitiveData(settings.data_keys, settings.hash_key)


def unit_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "unit_code": "11511529MB0000000X",
        "name": "屏山县交通运输局",
        "region_code": "511529000000",
        "phone": "13800001111",
        "wecom_key": "693a91f6-7b3c-4bc4-97a0-0ec2b1fa5aaa",
    }
    body.update(overrides)
    return body


def user_created(
    vault: SensitiveData, phone: str | None = "13812345678", **overrides: Any
) -> Event:
    """identity.user.created as the gateway publishes it: the phone sealed, masked, hashed."""
    data = {
        "user_id": uuid.uuid4(),
        "login": f"u.{uuid.uuid4().hex[:8]}",
        "display_name": "李明",
        "region_code": "511529100201",
        "roles": ["first_secretary"],
        "active": True,
        "phone_sealed": None if phone is None else vault.encrypt(phone).decode("ascii"),
        "phone_masked": None if phone is None else mask_phone(phone),
        "phone_hash": None if phone is None else vault.hash(phone),
        **overrides,
    }
    region_code = data["region_code"]
    return make_event(
        UserCreated(**data), source="/gateway", subject=data["user_id"], region_code=region_code
    )


def api_key_headers(
    issuer: Any, *permissions: str, region_code: str = "511529", role: str = "county_admin"
) -> dict[str, str]:
    """An integration's API key, narrowed to `permissions`: the token the gateway mints for it."""
    now = int(time.time())
    claims = {
        "iss": "zhucun-gateway",
        "aud": "zhucun",
        "sub": str(uuid.uuid4()),
        "roles": [role],
        "scope": region_code,
        "permissions": list(permissions),
        "iat": now,
        "exp": now + 300,
    }
    token = jwt.encode(claims, issuer.key, algorithm="EdDSA", headers={"kid": issuer.kid})
    return {"Authorization": f"Bearer {token}"}


async def insert_greeting(
    db: str, recipient_id: str | uuid.UUID, *, status: str = "queued", priority: str = "greeting"
) -> uuid.UUID:
    """A greeting queued for a contact (as a campaign queues one), by SQL."""
    message = uuid.uuid4()
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(
            "INSERT INTO message (id, idempotency_key, recipient_id, region_code, priority, "
            "channel, provider, template, body, status, created_at, not_before, updated_at) "
            "VALUES ($1, $1, $2, '511529100201', $3, 'sms', 'console', 'greeting', '中秋快乐', "
            "$4, now(), now() + interval '1 day', now())",
            message,
            uuid.UUID(str(recipient_id)),
            priority,
            status,
        )
    finally:
        await conn.close()
    return message


async def message_status(db: str, message: uuid.UUID) -> str:
    conn = await asyncpg.connect(plain_url(db))
    try:
        return await conn.fetchval("SELECT status FROM message WHERE id = $1", message)
    finally:
        await conn.close()
