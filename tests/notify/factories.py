"""Builders of notify's records and requests for its tests, with defaults a test overrides."""

import csv
import io
import time as clock
from collections.abc import Iterable, Sequence
from contextlib import asynccontextmanager
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
from services.common.testing import TokenIssuer, listening
from services.notify.app import create_app
from services.notify.contacts.sheets import CSV
from services.notify.settings import NotifySettings
from tests.conftest import NOTIFY_FAST, client_of
from tests.notify.providers.fakes import AliyunFake, WeComFake

# -- paths and constants (and SQL run as it is) ------------------------------------------------

NOTIFY = "/api/v1/notify"
TEMPLATES = f"{NOTIFY}/templates"
ALERT_ROUTES = f"{NOTIFY}/alert-routes"
QUIET_HOURS = f"{NOTIFY}/quiet-hours"
CONTACTS = f"{NOTIFY}/contacts"
CONTACT_LISTS = f"{NOTIFY}/contact-lists"
MESSAGES = f"{NOTIFY}/messages"
VILLAGE = "511529100201"  # 锦屏一村, 屏山县
SHANGHAI = ZoneInfo("Asia/Shanghai")
# The keys the test apps seal phones with (the development ones: no test sets others).
VAULT = SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY)
ALIYUN_KEY = ("LTAI-test-key", "test-secret-of-thirty-chars-long")
LIST_HEADER = ("姓名", "手机号", "区划代码", "在外")


async def sql(db: str, statement: str, *args: Any) -> None:
    """Run one statement against the test's database (what no API does for a test)."""
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


# -- people and lists: contacts, uploaded lists, units, opt-outs -------------------------------


async def add_contact(
    db: str,
    name: str = "王小明",
    *,
    phone: str | None = "13800001111",
    wechat_openid: str | None = None,
    wecom_key: str | None = None,
    kind: str | None = None,
    unit_code: str | None = None,
    roles: Iterable[str] = ("team_member",),
    region_code: str = VILLAGE,
    list_id: UUID | None = None,
    active: bool = True,
) -> UUID:
    """A contact as notify's read model holds it: a user with `roles`, a row of an uploaded
    list (`list_id`), or a dispatching unit (`kind="unit"` with its `unit_code`); only a user
    has roles. Phones and robot keys sealed with VAULT."""
    kind = kind or ("listed" if list_id else "user")
    contact_id = uuid4()
    await sql(
        db,
        "INSERT INTO contact (id, kind, name, region_code, roles, list_id, unit_code,"
        " phone_encrypted, phone_hash, phone_masked, wechat_openid, wecom_key_encrypted,"
        " active, facts_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now(), now())",
        contact_id,
        kind,
        name,
        region_code,
        list(roles) if kind == "user" else [],
        list_id,
        unit_code,
        VAULT.encrypt(phone) if phone else None,
        VAULT.hash(phone) if phone else None,
        mask_phone(phone) if phone else None,
        wechat_openid,
        VAULT.encrypt(wecom_key) if wecom_key else None,
        active,
    )
    return contact_id


async def add_list(db: str, region_code: str = VILLAGE, name: str = "在外务工人员") -> UUID:
    """An uploaded list (名单), empty: `add_contact(list_id=...)` fills it."""
    list_id = uuid4()
    await sql(
        db,
        "INSERT INTO contact_list (id, name, region_code, size, uploaded_by, created_at)"
        " VALUES ($1, $2, $3, 0, $4, now())",
        list_id,
        name,
        region_code,
        uuid4(),
    )
    return list_id


async def add_opt_out(db: str, phone: str) -> None:
    """退订: the phone asked for no more greetings."""
    await sql(
        db,
        "INSERT INTO opt_out (phone_hash, opted_out_at, via) VALUES ($1, now(), 'api')",
        VAULT.hash(phone),
    )


def list_csv(
    rows: Sequence[Sequence[Any]], header: Sequence[str] = LIST_HEADER, encoding: str = "utf-8-sig"
) -> bytes:
    """A list as Excel saves it as CSV: UTF-8 with a BOM, or `gbk` for plain "CSV"."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows([header, *rows])
    return text.getvalue().encode(encoding)


def list_xlsx(rows: Sequence[Sequence[Any]], header: Sequence[str] = LIST_HEADER) -> bytes:
    """A list as an Excel workbook (XLSX), the header on its first row."""
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
    region_code: str = VILLAGE,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST the file itself, as the county's web page uploads a list."""
    return await client.post(
        CONTACT_LISTS,
        params={"name": name, "region_code": region_code},
        content=content,
        headers={"content-type": content_type, **(headers or {})},
    )


def unit_body(**overrides: Any) -> dict[str, Any]:
    """A POST /units body: a county bureau reached by its WeCom robot and a phone."""
    return {
        "unit_code": "11511529MB0000000X",
        "name": "屏山县交通运输局",
        "region_code": "511529000000",
        "phone": "13800001111",
        "wecom_key": "693a91f6-7b3c-4bc4-97a0-0ec2b1fa5aaa",
        **overrides,
    }


# -- events: what other services publish ------------------------------------------------------


def absence_event(**overrides: Any) -> Event:
    """连续缺勤: attendance's event of a team member absent for 3 days (a contact leader and a
    branch secretary notify has not heard of, the unit found by its name)."""
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


def user_created(phone: str | None = "13812345678", **overrides: Any) -> Event:
    """identity.user.created as the gateway publishes it: the phone sealed (VAULT), masked,
    hashed."""
    data = {
        "user_id": uuid4(),
        "login": f"u.{uuid4().hex[:8]}",
        "display_name": "李明",
        "region_code": VILLAGE,
        "roles": ["first_secretary"],
        "active": True,
        "phone_sealed": None if phone is None else VAULT.encrypt(phone).decode("ascii"),
        "phone_masked": None if phone is None else mask_phone(phone),
        "phone_hash": None if phone is None else VAULT.hash(phone),
        **overrides,
    }
    return make_event(
        UserCreated(**data),
        source="/gateway",
        subject=data["user_id"],
        region_code=data["region_code"],
    )


# -- messages and campaigns: queued messages, templates, routes, quiet hours ------------------


async def queued_message(
    db: str,
    recipient_id: UUID | str | None = None,
    *,
    priority: str = "greeting",
    status: str = "queued",
    channel: str = "console",
    held: bool = False,
    region_code: str = VILLAGE,
) -> UUID:
    """One message by SQL (provider: the log): due now, or `held` for a day (the dispatcher
    leaves it); to `recipient_id`, or to someone notify does not know. A greeting is a
    campaign's, sending (the dispatcher sends no other)."""
    message = uuid4()
    # paused while its message goes in: a sending campaign with none yet would be completed
    campaign = await add_campaign(db, status="paused") if priority == "greeting" else None
    await sql(
        db,
        "INSERT INTO message (id, idempotency_key, campaign_id, recipient_id, region_code,"
        " priority, channel, provider, template, body, status, created_at, not_before,"
        " updated_at) VALUES ($1, $1, $8, $2, $3, $4, $5, 'console', 'festival_greeting',"
        " '中秋快乐', $6, now(), now() + $7::interval, now())",
        message,
        UUID(str(recipient_id)) if recipient_id else uuid4(),
        region_code,
        priority,
        channel,
        status,
        timedelta(days=1 if held else 0),
        campaign,
    )
    if campaign is not None:
        await sql(db, "UPDATE campaign SET status = 'sending' WHERE id = $1", campaign)
    return message


async def message_status(db: str, message: UUID) -> str:
    """The message's status, as stored."""
    conn = await asyncpg.connect(plain_url(db))
    try:
        return await conn.fetchval("SELECT status FROM message WHERE id = $1", message)
    finally:
        await conn.close()


async def messages(client: Any, **params: Any) -> list[dict[str, Any]]:
    """GET /messages with `params` (event_id, campaign_id, recipient_id, status, ...)."""
    response = await client.get(MESSAGES, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def settled(found: list[dict[str, Any]]) -> bool:
    """Some messages, none of them still queued or being sent."""
    return bool(found) and all(m["status"] not in ("queued", "sending") for m in found)


async def add_campaign(
    db: str,
    *,
    status: str = "sending",
    template_code: str = "festival_greeting",
    send_in: timedelta = timedelta(0),
) -> UUID:
    """A campaign by SQL (中秋问候 by SMS, Pingshan's), in `status`, its time `send_in` from
    now; its id."""
    campaign = uuid4()
    await sql(
        db,
        "INSERT INTO campaign (id, name, region_code, send_at, template_code, channels,"
        " audience_roles, audience_list_ids, status, created_by, created_at, updated_at)"
        " VALUES ($1, '中秋问候', '511529000000', now() + $2::interval, $3, '{sms}', '{}', '{}',"
        " $4, $1, now(), now())",
        campaign,
        send_in,
        template_code,
        status,
    )
    return campaign


async def queue_greetings(
    db: str,
    contacts: Sequence[UUID],
    *,
    campaign_status: str = "sending",
    provider: str = "aliyun",
) -> UUID:
    """A campaign's greetings by SMS (through `provider`) as its planning leaves them:
    queued, one per contact; the campaign's id."""
    # paused while its messages go in: a sending campaign with none yet would be completed
    campaign = await add_campaign(db, status="paused")
    await sql(
        db,
        "INSERT INTO message (id, idempotency_key, campaign_id, recipient_id, region_code,"
        " priority, channel, provider, template, body, params, provider_template_code,"
        " sign_name, status, not_before, created_at, updated_at)"
        " SELECT gen_random_uuid(), gen_random_uuid(), $1, c, $3, 'greeting', 'sms',"
        " $4, 'festival_greeting', '节日快乐', '{}', 'SMS_festival_greeting', '驻村管理',"
        " 'queued', now(), now(), now() FROM unnest($2::uuid[]) AS c",
        campaign,
        list(contacts),
        VILLAGE,
        provider,
    )
    await sql(db, "UPDATE campaign SET status = $2 WHERE id = $1", campaign, campaign_status)
    return campaign


def campaign_body(**overrides: Any) -> dict[str, Any]:
    """A POST /campaigns body: the Mid-Autumn festival of 2027 to Pingshan's team members."""
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


async def make_campaign_due(db: str, campaign_id: str) -> None:
    """Its time has come: send_at a moment ago (what waiting for the festival would do)."""
    await sql(
        db,
        "UPDATE campaign SET send_at = $2 WHERE id = $1",
        UUID(campaign_id),
        datetime.now(UTC) - timedelta(seconds=1),
    )


def template_body(**overrides: Any) -> dict[str, Any]:
    """A PUT /templates body: an absence alert by SMS."""
    return {
        "purpose": "attendance.absence.detected",
        "name": "缺勤提醒",
        "body": "{{ recipient_name }}您好：{{ cadre_name }}已连续{{ days }}天不在村，请核实。",
        "sign_name": "驻村管理",
        **overrides,
    }


async def add_greeting_template(
    db: str,
    code: str = "long_greeting",
    channel: str = "sms",
    body: str = "{{ name }}您好！{{ festival }}到了，{{ sender }}祝您节日快乐！",
    *,
    purpose: str = "greeting",
    sign_name: str | None = "驻村管理",
) -> None:
    """A greeting template (问候) by SQL, of at most 3 SMS parts."""
    await sql(
        db,
        "INSERT INTO template (id, code, channel, purpose, name, body, variables, sign_name,"
        " max_parts, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, '问候', $5, '{}', $6, 3, now(), now())",
        uuid4(),
        code,
        channel,
        purpose,
        body,
        sign_name,
    )


async def approve_sms_templates(db: str) -> None:
    """The county's SMS templates carry the codes the provider approved (set by the county)."""
    await sql(
        db, "UPDATE template SET provider_template_code = 'SMS_' || code WHERE channel = 'sms'"
    )


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


async def set_quiet_hours(db: str, *, around_now: bool, county_code: str = "511529") -> None:
    """The county's quiet hours (免打扰) as a two-hour window around now (greetings held) or
    around twelve hours from now (greetings sent), in Shanghai time, whatever the hour."""
    now = datetime.now(SHANGHAI)
    middle = now if around_now else now + timedelta(hours=12)
    starts = (middle - timedelta(hours=1)).time().replace(microsecond=0)
    ends = (middle + timedelta(hours=1)).time().replace(microsecond=0)
    await sql(
        db,
        "INSERT INTO quiet_hours (county_code, starts, ends, updated_by, updated_at)"
        " VALUES ($1, $2, $3, $4, now()) ON CONFLICT (county_code)"
        " DO UPDATE SET starts = excluded.starts, ends = excluded.ends",
        county_code,
        starts,
        ends,
        uuid4(),
    )


# -- the app with fake providers, and an integration's credentials -----------------------------


@asynccontextmanager
async def notify_with_fakes(
    db: str, nats_url: str, issuer: TokenIssuer, *, sms_rate: float = 1000.0, **overrides: Any
):
    """The notify app sending SMS through a fake Aliyun (at `sms_rate` a second) and WeCom
    through a fake robot API; yields (client, aliyun fake, wecom fake)."""
    aliyun = AliyunFake(*ALIYUN_KEY)
    wecom = WeComFake({"robot-key-1"})
    async with listening(aliyun.app()) as aliyun_url, listening(wecom.app()) as wecom_url:
        settings: dict[str, Any] = {
            **NOTIFY_FAST,
            "sms_provider": "aliyun",
            "aliyun": {
                "access_key_id": ALIYUN_KEY[0],
                "access_key_secret": ALIYUN_KEY[1],
                "endpoint": aliyun_url,
                "rate_per_second": sms_rate,
            },
            "wecom_provider": "wecom",
            "wecom": {"endpoint": wecom_url},
            **overrides,
        }
        async with client_of(create_app, NotifySettings, db, nats_url, issuer, **settings) as c:
            yield c, aliyun, wecom


def api_key_headers(
    issuer: Any, *permissions: str, region_code: str = "511529", role: str = "county_admin"
) -> dict[str, str]:
    """An integration's API key, narrowed to `permissions`: the token the gateway mints for it."""
    now = int(clock.time())
    claims = {
        "iss": "zhucun-gateway",
        "aud": "zhucun",
        "sub": str(uuid4()),
        "roles": [role],
        "scope": region_code,
        "permissions": list(permissions),
        "iat": now,
        "exp": now + 300,
    }
    token = jwt.encode(claims, issuer.key, algorithm="EdDSA", headers={"kid": issuer.kid})
    return {"Authorization": f"Bearer {token}"}
