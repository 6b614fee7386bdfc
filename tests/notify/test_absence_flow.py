"""The absence flow end to end: a first secretary misses days → attendance's daily job →
attendance.absence.detected through the real NATS → notify → the contact leader's SMS at the
(fake) provider, once."""

import asyncio
from uuid import uuid4

from services.attendance.days.jobs import DAILY
from services.common.contracts.identity import UserCreated
from services.common.db import Database
from services.common.events import make_event
from services.common.jobs import JobScheduler
from services.common.sensitive import mask_phone
from services.common.testing import count_rows, eventually
from tests.attendance.factories import put_on_team
from tests.attendance.test_day_evaluation import check_in_on, days, evaluate_days
from tests.common.events import publish
from tests.notify.factories import (
    VAULT,
    approve_sms_templates,
    messages,
    notify_with_fakes,
    settled,
)

LEADER_PHONE = "13600001234"


async def test_a_cadre_missing_three_days_reaches_the_contact_leaders_phone_once(
    attendance,
    attendance_db,
    notify_db,
    nats_url,
    issuer,
):
    await approve_sms_templates(notify_db)
    leader = uuid4()
    # The gateway says who the contact leader is, and their phone (sealed), on the event log.
    created = UserCreated(
        user_id=leader,
        login="jp.lianxi",
        display_name="锦屏镇联系领导",
        region_code="511529100000",
        roles=["contact_leader"],
        active=True,
        phone_sealed=VAULT.encrypt(LEADER_PHONE).decode(),
        phone_masked=mask_phone(LEADER_PHONE),
        phone_hash=VAULT.hash(LEADER_PHONE),
    )
    await publish(nats_url, make_event(created, source="/gateway", subject=leader))
    secretary = await put_on_team(
        attendance,
        role="first_secretary",
        contact_leader_id=str(leader),
        unit_name="屏山县农业农村局",
        unit_code="511529-NY",
        term_start="2026-11-01",
    )
    await check_in_on(attendance, issuer, secretary["cadre_id"], days("2026-11-01", "2026-11-02"))

    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        await eventually(lambda: count_rows(notify_db, "contact", "id = $1", leader), bool)
        jobs = Database(attendance_db, pool_size=2)
        try:
            await evaluate_days(JobScheduler(jobs, [DAILY]), days("2026-11-01", "2026-11-05"))
        finally:
            await jobs.dispose()

        [alert] = await eventually(lambda: messages(notify, recipient_id=str(leader)), settled)
        await asyncio.sleep(1.0)  # nothing more follows
        assert len(await messages(notify, recipient_id=str(leader))) == 1

    assert alert["status"] == "sent"
    assert alert["template"] == "absence_alert"
    [sms] = aliyun.accepted
    assert sms["phone"] == LEADER_PHONE
    assert sms["params"]["days"] == "3"
    assert sms["params"]["first_day"] == "2026-11-03"
    assert sms["params"]["recipient_name"] == "锦屏镇联系领导"
