"""Small helpers that build notify's records for tests, with defaults."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.common.db import plain_url
from services.common.sensitive import SensitiveData, mask_phone
from services.common.settings import DEV_DATA_KEY, DEV_HASH_KEY

# The keys a test app runs with (the development ones), so its dispatcher opens these phones.
VAULT = SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY)
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
