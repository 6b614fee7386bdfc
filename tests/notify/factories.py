"""Small builders of notify's records and requests, with defaults a test overrides."""

import csv
import io
import time as clock
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

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
    now = int(clock.time())
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


SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _execute(db: str, statement: str, *args: Any) -> None:
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


# -- campaigns' audiences, templates, quiet hours ------------------------------------------------


async def add_audience_list(
    db: str, region_code: str = "511529100201", name: str = "在外务工人员"
) -> uuid.UUID:
    """An uploaded list (名单), empty: `add_audience_contact(list_id=...)` fills it."""
    list_id = uuid.uuid4()
    await _execute(
        db,
        "INSERT INTO contact_list (id, name, region_code, size, uploaded_by, created_at) "
        "VALUES ($1, $2, $3, 0, $4, now())",
        list_id,
        name,
        region_code,
        uuid.uuid4(),
    )
    return list_id


async def add_audience_contact(
    db: str,
    name: str = "王小明",
    *,
    region_code: str = "511529100201",
    roles: tuple[str, ...] = ("team_member",),
    list_id: uuid.UUID | None = None,
    phone: str | None = "13800001111",
    wechat_openid: str | None = None,
    active: bool = True,
) -> uuid.UUID:
    """A contact: a user with `roles`, or (with `list_id`) a row of an uploaded list."""
    contact_id = uuid.uuid4()
    await _execute(
        db,
        "INSERT INTO contact (id, kind, name, region_code, roles, list_id, phone_encrypted, "
        "phone_hash, phone_masked, wechat_openid, active, facts_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now(), now())",
        contact_id,
        "listed" if list_id else "user",
        name,
        region_code,
        [] if list_id else list(roles),
        list_id,
        VAULT.encrypt(phone) if phone else None,
        VAULT.hash(phone) if phone else None,
        mask_phone(phone) if phone else None,
        wechat_openid,
        active,
    )
    return contact_id


async def add_opt_out(db: str, phone: str) -> None:
    """退订: the phone asked for no more greetings."""
    await _execute(
        db,
        "INSERT INTO opt_out (phone_hash, opted_out_at, via) VALUES ($1, now(), 'api')",
        VAULT.hash(phone),
    )


async def add_greeting_template(
    db: str,
    code: str = "long_greeting",
    channel: str = "sms",
    body: str = "{{ name }}您好！{{ festival }}到了，{{ sender }}祝您节日快乐！",
    *,
    purpose: str = "greeting",
    sign_name: str | None = "驻村管理",
) -> None:
    await _execute(
        db,
        "INSERT INTO template (id, code, channel, purpose, name, body, variables, sign_name, "
        "max_parts, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, '问候', $5, '{}', $6, 3, now(), now())",
        uuid.uuid4(),
        code,
        channel,
        purpose,
        body,
        sign_name,
    )


async def set_quiet_hours(db: str, *, around_now: bool, county_code: str = "511529") -> None:
    """The county's quiet hours (免打扰) as a two-hour window around now (greetings held) or
    around twelve hours from now (greetings sent), in Shanghai time, whatever the hour."""
    now = datetime.now(SHANGHAI)
    middle = now if around_now else now + timedelta(hours=12)
    starts = (middle - timedelta(hours=1)).time().replace(microsecond=0)
    ends = (middle + timedelta(hours=1)).time().replace(microsecond=0)
    await _execute(
        db,
        "INSERT INTO quiet_hours (county_code, starts, ends, updated_by, updated_at) "
        "VALUES ($1, $2, $3, $4, now()) ON CONFLICT (county_code) "
        "DO UPDATE SET starts = excluded.starts, ends = excluded.ends",
        county_code,
        starts,
        ends,
        uuid.uuid4(),
    )


async def make_campaign_due(db: str, campaign_id: str) -> None:
    """Its time has come: send_at a moment ago (what waiting for the festival would do)."""
    await _execute(
        db,
        "UPDATE campaign SET send_at = $2 WHERE id = $1",
        uuid.UUID(campaign_id),
        datetime.now(UTC) - timedelta(seconds=1),
    )


def campaign_body(**overrides: Any) -> dict[str, Any]:
    """A campaign for the Mid-Autumn festival of 2027 to Pingshan's team members."""
    return {
        "name": "2027 年中秋问候",
        "region_code": "511529000000",
        "festival": {"code": "mid_autumn", "year": 2027},
        "send_time": time(9, 0).strftime("%H:%M"),
        "template_code": "festival_greeting",
        "channels": ["sms"],
        "audience": {"roles": ["team_member"], "list_ids": []},
        **overrides,
    }
