"""Helpers for notify's delivery and alert tests: people to reach, events about a cadre, the
notify app wired to the fake providers."""

from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.common.contracts.attendance import AbsenceDetected
from services.common.db import plain_url
from services.common.events import Event, make_event
from services.common.sensitive import SensitiveData, mask_phone
from services.common.settings import DEV_DATA_KEY, DEV_HASH_KEY
from services.common.testing import TokenIssuer, listening
from services.notify.app import create_app
from services.notify.providers.fakes import AliyunFake, WeComFake
from services.notify.settings import NotifySettings
from tests.conftest import NOTIFY_FAST, client_of

VAULT = SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY)
ALIYUN_KEY = ("LTAI-test-key", "test-secret-of-thirty-chars-long")
VILLAGE = "511529100201"


async def add_contact(
    db: str,
    *,
    name: str = "王联系",
    phone: str | None = "13800001111",
    wecom_key: str | None = None,
    kind: str = "user",
    unit_code: str | None = None,
    roles: tuple[str, ...] = ("contact_leader",),
    region_code: str = "511529100000",
    contact_id: UUID | None = None,
) -> UUID:
    """A person (or a unit) notify can reach, as its read model holds them."""
    contact_id = contact_id or uuid4()
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(
            "INSERT INTO contact (id, kind, name, region_code, roles, unit_code, phone_encrypted,"
            " phone_hash, phone_masked, wecom_key_encrypted, facts_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now())",
            contact_id,
            kind,
            name,
            region_code,
            list(roles),
            unit_code,
            VAULT.encrypt(phone) if phone else None,
            VAULT.hash(phone) if phone else None,
            mask_phone(phone) if phone else None,
            VAULT.encrypt(wecom_key) if wecom_key else None,
        )
    finally:
        await conn.close()
    return contact_id


def absence_event(
    *,
    contact_leader_id: UUID | None = None,
    branch_secretary_id: UUID | None = None,
    unit_code: str | None = "UNIT-01",
    cadre_id: UUID | None = None,
    days: int = 3,
) -> Event:
    cadre_id = cadre_id or uuid4()
    data = AbsenceDetected(
        member_id=uuid4(),
        team_role="first_secretary",
        contact_leader_id=contact_leader_id,
        branch_secretary_id=branch_secretary_id,
        unit_name="县农业农村局",
        unit_code=unit_code,
        cadre_id=cadre_id,
        region_code=VILLAGE,
        first_day=date(2026, 12, 1),
        last_day=date(2026, 12, 3),
        days=days,
    )
    return make_event(data, source="/tests", subject=cadre_id, region_code=VILLAGE)


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


async def messages(client, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notify/messages", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def now() -> datetime:
    return datetime.now(UTC)
