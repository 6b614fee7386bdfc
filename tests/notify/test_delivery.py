"""Delivery through the real adapters to fake providers: an alert sent once, retried on a
temporary error, fallen back on a permanent one, receipted; greetings held in quiet hours;
what a stopped or crashed sender leaves behind."""

import asyncio
from uuid import uuid4

import asyncpg

from services.common.db import plain_url
from services.common.testing import count_rows, eventually
from tests.common.events import publish
from tests.notify.factories import (
    VILLAGE,
    absence_event,
    add_contact,
    approve_sms_templates,
    messages,
    notify_with_fakes,
    queue_greetings,
    set_quiet_hours,
    settled,
    sql,
)

ABSENCE = "attendance.absence.detected"


async def test_an_absence_reaches_the_contact_leader_and_the_unit_once(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    leader = await add_contact(notify_db, "王联系", phone="13800001111")
    unit = await add_contact(
        notify_db,
        "县农业农村局",
        phone=None,
        wecom_key="robot-key-1",
        kind="unit",
        unit_code="UNIT-01",
    )
    cadre = await add_contact(notify_db, "李书记", phone="13900002222")
    event = absence_event(
        contact_leader_id=leader, branch_secretary_id=None, unit_code="UNIT-01", cadre_id=cadre
    )
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, wecom):
        await publish(nats_url, event)
        await publish(nats_url, event, msg_id=str(uuid4()))  # a redelivery past NATS's dedup
        found = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
        await asyncio.sleep(0.5)

        assert sorted(m["recipient_id"] for m in found) == sorted([str(leader), str(unit)])
        assert {m["status"] for m in found} == {"sent"}
        [sms] = aliyun.accepted
        assert sms["phone"] == "13800001111"
        assert sms["template_code"] == "SMS_absence_alert"
        assert sms["params"]["cadre_name"] == "李书记"
        [robot] = wecom.accepted
        assert robot["key"] == "robot-key-1"
        assert "李书记" in robot["content"] and "连续3天" in robot["content"]
        by_channel = {m["channel"]: m for m in found}
        assert by_channel["sms"]["address_masked"] == "138****1111"
        assert by_channel["sms"]["provider_message_id"] == sms["biz_id"]
    # what others learn: one notify.message.sent per alert
    assert await count_rows(notify_db, "outbox", "type = 'notify.message.sent'") == 2


async def test_a_rate_limited_send_is_retried_until_it_goes(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    leader = await add_contact(notify_db)
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        aliyun.fail_next(2, "rate_limited")
        event = absence_event(
            contact_leader_id=leader, branch_secretary_id=None, unit_code="UNIT-01"
        )
        await publish(nats_url, event)
        [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)

    assert message["status"] == "sent"
    assert message["attempts"] == 3
    assert len(aliyun.accepted) == 1


async def test_a_refused_number_falls_back_to_the_next_channel(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    leader = await add_contact(notify_db, phone="13800003333", wecom_key="robot-key-1")
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, wecom):
        aliyun.refuse("13800003333", "invalid_number")
        event = absence_event(contact_leader_id=leader, branch_secretary_id=None, unit_code=None)
        await publish(nats_url, event)
        [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)

    assert message["status"] == "sent"
    assert message["channel"] == "wecom"
    assert aliyun.accepted == []
    assert len(wecom.accepted) == 1


async def test_a_permanent_refusal_with_no_fallback_fails_and_says_why(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    leader = await add_contact(notify_db)
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        aliyun.fail_next(1, "balance_exhausted")
        event = absence_event(contact_leader_id=leader, branch_secretary_id=None, unit_code=None)
        await publish(nats_url, event)
        [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)

    assert message["status"] == "failed"
    assert message["error_code"] == "isv.AMOUNT_NOT_ENOUGH"
    assert message["attempts"] == 1  # not retried: more tries would not top up the balance
    assert await count_rows(notify_db, "outbox", "type = 'notify.message.failed'") == 1


async def test_a_receipt_marks_the_message_delivered_once(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    leader = await add_contact(notify_db, phone="13800004444")
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        event = absence_event(contact_leader_id=leader, branch_secretary_id=None, unit_code=None)
        await publish(nats_url, event)
        [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
        receipt = [
            {
                "phone_number": "13800004444",
                "send_time": "2026-12-04 09:00:00",
                "report_time": "2026-12-04 09:00:05",
                "success": True,
                "err_code": "DELIVERED",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": aliyun.accepted[0]["biz_id"],
                "out_id": str(message["id"]),
            }
        ]
        path = "/api/v1/notify/callbacks/aliyun/receipts"
        forged = await notify.post(path, params={"token": "guess"}, json=receipt)
        assert forged.status_code == 401
        assert forged.json()["code"] == "callback_token_invalid"
        assert (await notify.get(f"/api/v1/notify/messages/{message['id']}")).json()[
            "status"
        ] == "sent"

        token = {"token": "dev-callback-token-not-for-production"}
        answered = await notify.post(path, params=token, json=receipt)
        assert answered.status_code == 200
        assert answered.json() == {"code": 0, "msg": "成功"}
        again = await notify.post(path, params=token, json=receipt)
        assert again.status_code == 200
        unreadable = await notify.post(path, params=token, content=b"<xml/>")
        assert unreadable.status_code == 422

        delivered = (await notify.get(f"/api/v1/notify/messages/{message['id']}")).json()
    assert delivered["status"] == "delivered"
    assert delivered["delivered_at"] is not None
    assert await count_rows(notify_db, "outbox", "type = 'notify.message.delivered'") == 1


async def test_greetings_wait_out_quiet_hours_but_alerts_do_not(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    await set_quiet_hours(notify_db, around_now=True)
    villager = await add_contact(notify_db, "张大爷", phone="13700005555", roles=())
    leader = await add_contact(notify_db, phone="13800006666")
    campaign = await queue_greetings(notify_db, [villager])
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        event = absence_event(contact_leader_id=leader, branch_secretary_id=None, unit_code=None)
        await publish(nats_url, event)
        await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
        await asyncio.sleep(0.5)
        [greeting] = await messages(notify, campaign_id=str(campaign))
        assert greeting["status"] == "queued"
        assert [m["phone"] for m in aliyun.accepted] == ["13800006666"]

        await set_quiet_hours(notify_db, around_now=False)  # the morning
        await eventually(lambda: messages(notify, campaign_id=str(campaign)), settled)
    assert sorted(m["phone"] for m in aliyun.accepted) == ["13700005555", "13800006666"]


async def test_a_paused_campaign_holds_its_greetings(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)  # the codes the provider approved
    await set_quiet_hours(notify_db, around_now=False)
    villager = await add_contact(notify_db, phone="13700007777", roles=())
    campaign = await queue_greetings(notify_db, [villager], campaign_status="paused")
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        await asyncio.sleep(0.5)
        assert [m["status"] for m in await messages(notify, campaign_id=str(campaign))] == [
            "queued"
        ]
        await sql(notify_db, "UPDATE campaign SET status = 'sending' WHERE id = $1", campaign)
        await eventually(lambda: messages(notify, campaign_id=str(campaign)), settled)
    assert [m["phone"] for m in aliyun.accepted] == ["13700007777"]


async def test_a_restart_in_the_middle_of_a_campaign_greets_each_person_once(
    notify_db, nats_url, issuer
):
    await approve_sms_templates(notify_db)  # the codes the provider approved
    await set_quiet_hours(notify_db, around_now=False)
    phones = [f"1370000{n:04d}" for n in range(250)]
    people = [await add_contact(notify_db, phone=p, roles=()) for p in phones]
    campaign = await queue_greetings(notify_db, people)
    received: list[str] = []
    # 100 a second, in batches of 100: the first run is stopped once its first batch is in,
    # with the next one claimed and waiting for its turn; the second run sends what is left.
    async with notify_with_fakes(notify_db, nats_url, issuer, sms_rate=100) as (_, aliyun, _):
        await eventually(lambda: asyncio.sleep(0, aliyun.accepted), bool)
    received += [m["phone"] for m in aliyun.accepted]
    assert len(received) < len(phones)
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        await eventually(lambda: messages(notify, campaign_id=str(campaign), limit=500), settled)
    received += [m["phone"] for m in aliyun.accepted]
    assert sorted(received) == sorted(phones)


async def test_a_send_abandoned_by_a_crash_is_resent_if_an_alert_not_if_a_greeting(
    notify_db, nats_url, issuer
):
    await approve_sms_templates(notify_db)  # the codes the provider approved
    await set_quiet_hours(notify_db, around_now=False)
    villager = await add_contact(notify_db, phone="13700008888", roles=())
    campaign = await queue_greetings(notify_db, [villager])
    # A crashed sender's claim: 'sending', its lease run out.
    await sql(
        notify_db,
        "UPDATE message SET status = 'sending', attempts = 1,"
        " lease_until = now() - interval '1 second' WHERE campaign_id = $1",
        campaign,
    )
    leader = await add_contact(notify_db, phone="13800009999")
    await sql(
        notify_db,
        "INSERT INTO message (id, idempotency_key, event_id, recipient_id, region_code, priority,"
        " channel, provider, template, body, params, provider_template_code, sign_name, status,"
        " attempts, lease_until, not_before, created_at, updated_at)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), $1, $2, 'alert',"
        " 'sms', 'aliyun', 'absence_alert', '缺勤提醒', '{}', 'SMS_absence_alert', '驻村管理',"
        " 'sending', 1, now() - interval '1 second', now(), now(), now())",
        leader,
        VILLAGE,
    )
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        [alert] = await eventually(lambda: messages(notify, recipient_id=str(leader)), settled)
        [greeting] = await messages(notify, campaign_id=str(campaign))
    assert alert["status"] == "sent"
    assert [m["phone"] for m in aliyun.accepted] == ["13800009999"]
    assert greeting["status"] == "failed"
    assert greeting["error_code"] == "outcome_unknown"


async def test_a_unit_the_roster_gave_no_code_is_found_by_its_name(notify_db, nats_url, issuer):
    await approve_sms_templates(notify_db)
    unit = await add_contact(
        notify_db, "县农业农村局", phone="13500001111", kind="unit", unit_code="NY"
    )
    await add_contact(notify_db, "县教育局", phone="13500002222", kind="unit", unit_code="JY")
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, aliyun, _):
        # the unit's name: 县农业农村局
        event = absence_event(contact_leader_id=None, branch_secretary_id=None, unit_code=None)
        await publish(nats_url, event)
        [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
    assert message["recipient_id"] == str(unit)
    assert [m["phone"] for m in aliyun.accepted] == ["13500001111"]


async def test_an_alert_nobody_can_receive_is_recorded_failed_and_published(
    notify_db, nats_url, issuer
):
    leader = await add_contact(notify_db, phone=None)  # known, but with no phone
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, _, _):
        event = absence_event(contact_leader_id=leader, branch_secretary_id=None, unit_code=None)
        await publish(nats_url, event)
        [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
    assert (message["status"], message["error_code"]) == ("failed", "no_address")
    assert await count_rows(notify_db, "outbox", "type = 'notify.message.failed'") == 1


async def test_a_reply_of_td_unsubscribes_the_phone_from_greetings(notify_db, nats_url, issuer):
    await set_quiet_hours(notify_db, around_now=True)  # the greetings wait: the reply comes first
    villager = await add_contact(notify_db, phone="13700001212", roles=())
    other = await add_contact(notify_db, phone="13700003434", roles=())
    campaign = await queue_greetings(notify_db, [villager, other])
    path = "/api/v1/notify/callbacks/tencent/replies"
    reply = [
        {
            "extend": "",
            "mobile": "13700001212",
            "nationcode": "86",
            "sign": "驻村管理",
            "text": "TD",
            "time": 1733299200,
        }
    ]
    async with notify_with_fakes(notify_db, nats_url, issuer) as (notify, _, _):
        forged = await notify.post(path, params={"token": "guess"}, json=reply)
        assert forged.status_code == 401
        assert await count_rows(notify_db, "opt_out") == 0

        token = {"token": "dev-callback-token-not-for-production"}
        answered = await notify.post(path, params=token, json=reply)
        assert (answered.status_code, answered.json()) == (200, {"result": 0, "errmsg": "OK"})
        again = await notify.post(path, params=token, json=reply)
        assert again.status_code == 200
        greetings = {
            m["recipient_id"]: m["status"]
            for m in await messages(notify, campaign_id=str(campaign))
        }
    assert greetings == {str(villager): "opted_out", str(other): "queued"}
    assert await count_rows(notify_db, "opt_out", "via = 'tencent'") == 1


async def test_sending_keeps_to_the_providers_rate(notify_db, nats_url, issuer):
    """250 greetings at 100 a second (batches of 100) take at least two seconds: the third
    batch may not leave before the rate allows it, however fast the machine."""
    await approve_sms_templates(notify_db)  # the codes the provider approved
    await set_quiet_hours(notify_db, around_now=False)
    people = [await add_contact(notify_db, phone=f"1360000{n:04d}", roles=()) for n in range(250)]
    campaign = await queue_greetings(notify_db, people)
    async with notify_with_fakes(notify_db, nats_url, issuer, sms_rate=100) as (notify, aliyun, _):
        await eventually(lambda: messages(notify, campaign_id=str(campaign), limit=500), settled)
    conn = await asyncpg.connect(plain_url(notify_db))
    try:
        first, last = await conn.fetchrow(
            "SELECT min(sent_at), max(sent_at) FROM message WHERE campaign_id = $1", campaign
        )
    finally:
        await conn.close()
    assert len(aliyun.accepted) == 250
    assert (last - first).total_seconds() >= 1.9


async def test_two_replicas_keep_to_the_providers_rate_together(notify_db, nats_url, issuer):
    """Two notify processes on one database, each told the provider takes 100 a second:
    together they take three seconds' worth of slots for 300 greetings, not half that."""
    await approve_sms_templates(notify_db)
    await set_quiet_hours(notify_db, around_now=False)
    people = [await add_contact(notify_db, phone=f"1350000{n:04d}", roles=()) for n in range(300)]
    campaign = await queue_greetings(notify_db, people)
    replica = (notify_db, nats_url, issuer)
    async with (
        notify_with_fakes(*replica, sms_rate=100) as (notify, one, _),
        notify_with_fakes(*replica, sms_rate=100) as (_, other, _),
    ):
        await eventually(lambda: messages(notify, campaign_id=str(campaign), limit=500), settled)
    conn = await asyncpg.connect(plain_url(notify_db))
    try:
        first, last = await conn.fetchrow(
            "SELECT min(sent_at), max(sent_at) FROM message WHERE campaign_id = $1", campaign
        )
    finally:
        await conn.close()
    assert len(one.accepted) + len(other.accepted) == 300
    assert (last - first).total_seconds() >= 1.9
