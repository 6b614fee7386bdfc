"""Greeting campaigns (节日问候): scheduled at a festival's day and time in the county's time
zone, refused (storing nothing) in the past, to nobody, with a template that is no greeting, or
outside the caller's scope; previewed in counts and cost; planned once when due, one greeting a
phone, the unsubscribed not sent to; paused, resumed, cancelled; completed with its progress;
held in quiet hours while an alert is not."""

import asyncio
import uuid
from datetime import date, timedelta

from services.common.db import Database
from services.common.testing import count_rows, eventually
from services.notify.campaigns.service import finish_done, start_due
from services.notify.contacts.models import Contact
from services.notify.delivery.service import message_key, queue, templates_for
from tests.notify.factories import (
    SHANGHAI,
    VAULT,
    add_contact,
    add_greeting_template,
    add_list,
    add_opt_out,
    campaign_body,
    make_campaign_due,
    set_quiet_hours,
)

CAMPAIGNS = "/api/v1/notify/campaigns"
PROVIDERS = {"sms": "console", "wechat": "console", "wecom": "console"}


async def created(notify, **overrides) -> dict:
    response = await notify.post(CAMPAIGNS, json=campaign_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def detail(notify, campaign_id: str) -> dict:
    response = await notify.get(f"{CAMPAIGNS}/{campaign_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def plan_due(notify_db: str) -> int:
    """One replica's housekeeping: start what is due (one transaction, as the dispatcher)."""
    database = Database(notify_db)
    try:
        async with database.transaction() as session:
            return await start_due(session, providers=PROVIDERS, timezone=SHANGHAI, limit=10)
    finally:
        await database.dispose()


async def held_and_planned(notify, notify_db, people: int) -> str:
    """A campaign to `people` team members, due and planned while quiet hours hold its
    greetings queued; its id."""
    await set_quiet_hours(notify_db, around_now=True)
    for n in range(people):
        await add_contact(notify_db, f"队员{n}", phone=f"1380000000{n}")
    campaign = await created(notify)
    await make_campaign_due(notify_db, campaign["id"])
    await eventually(lambda: detail(notify, campaign["id"]), lambda c: c["planned"] == people)
    return campaign["id"]


async def test_a_festival_campaign_is_scheduled_at_its_day_and_time(notify, notify_db):
    await add_contact(notify_db)

    response = await notify.post(CAMPAIGNS, json=campaign_body())

    assert response.status_code == 201, response.text
    campaign = response.json()
    assert response.headers["location"] == f"{CAMPAIGNS}/{campaign['id']}"
    assert campaign["send_at"] == "2027-09-15T09:00:00+08:00"  # 中秋 2027, 09:00 Beijing time
    assert (campaign["festival_code"], campaign["festival_day"]) == ("mid_autumn", "2027-09-15")
    assert (campaign["status"], campaign["planned"]) == ("scheduled", None)
    on_a_date = await created(
        notify, festival=None, send_on="2027-02-06", send_time="20:30", name="春节"
    )
    assert on_a_date["send_at"] == "2027-02-06T20:30:00+08:00"
    assert await count_rows(notify_db, "audit_entry", "action = 'notify.campaign.created'") == 2
    assert await count_rows(notify_db, "message") == 0  # nothing until its time


async def test_a_campaign_refused_stores_nothing(notify, notify_db):
    await add_contact(notify_db)  # a team member: the default audience is someone
    await add_greeting_template(notify_db, "alert_like", purpose="attendance.absence.detected")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    refused = {
        "campaign_in_past": campaign_body(festival=None, send_on=yesterday),
        "campaign_audience_empty": campaign_body(audience={"roles": ["first_secretary"]}),
        "campaign_template_unusable": campaign_body(template_code="absence_alert"),
        "campaign_list_not_found": campaign_body(audience={"list_ids": [str(uuid.uuid4())]}),
        "festival_not_found": campaign_body(festival={"code": "yi_new_year", "year": 2027}),
    }
    invalid = [
        campaign_body(send_on="2027-09-15"),  # a festival and a date
        campaign_body(festival=None),  # neither
        campaign_body(channels=[]),
        campaign_body(channels=["sms", "sms"]),
        campaign_body(channels=["fax"]),
        campaign_body(send_time="25:00"),
        campaign_body(audience={"roles": ["emperor"]}),
        {**campaign_body(), "status": "sending"},  # unknown field
    ]

    answers = {code: await notify.post(CAMPAIGNS, json=body) for code, body in refused.items()}
    others = [await notify.post(CAMPAIGNS, json=body) for body in invalid]
    alert_template = await notify.post(CAMPAIGNS, json=campaign_body(template_code="alert_like"))

    assert {code: (a.status_code, a.json()["code"]) for code, a in answers.items()} == {
        code: (422, code) for code in refused
    }
    assert (alert_template.status_code, alert_template.json()["code"]) == (
        422,
        "campaign_template_unusable",
    )
    assert [a.status_code for a in others] == [422] * len(others), [a.text for a in others]
    assert {a.headers["content-type"] for a in others} == {"application/problem+json"}
    assert await count_rows(notify_db, "campaign") == 0
    assert await count_rows(notify_db, "audit_entry") == 0


async def test_a_township_keeps_to_its_own_campaigns(notify, notify_db, issuer):
    await add_contact(notify_db, region_code="511529100201")
    await add_contact(notify_db, region_code="511529200201")
    township = issuer.headers("township_officer", region_code="511529100000")
    county_wide = await created(notify)

    elsewhere = await notify.post(
        CAMPAIGNS, json=campaign_body(region_code="511529200000"), headers=township
    )
    own = await notify.post(
        CAMPAIGNS, json=campaign_body(region_code="511529100000"), headers=township
    )
    listed = await notify.get(CAMPAIGNS, headers=township)
    county_one = await notify.get(f"{CAMPAIGNS}/{county_wide['id']}", headers=township)
    pause_it = await notify.post(f"{CAMPAIGNS}/{county_wide['id']}/pause", headers=township)

    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "outside_scope")
    assert own.status_code == 201, own.text
    assert [c["id"] for c in listed.json()["items"]] == [own.json()["id"]]
    assert (county_one.status_code, county_one.json()["code"]) == (404, "campaign_not_found")
    assert pause_it.status_code == 404
    assert await count_rows(notify_db, "campaign") == 2


async def test_the_preview_counts_by_channel_and_prices_the_sms(notify, notify_db):
    migrants = await add_list(notify_db)
    await add_contact(notify_db, "张三", phone="13800000001")
    await add_contact(notify_db, "李四", phone="13800000002")
    await add_contact(notify_db, "王五", phone=None, wechat_openid="oWx123456789")
    await add_contact(notify_db, "赵六", phone=None)  # reachable by nothing
    await add_contact(notify_db, "钱七", phone="13800000003")
    await add_opt_out(notify_db, "13800000003")
    await add_contact(notify_db, "张三", list_id=migrants, phone="13800000001")  # again
    await add_contact(notify_db, "孙八", list_id=migrants, phone="13800000004")
    await add_contact(notify_db, "离任", phone="13800000005", active=False)
    await add_contact(notify_db, "书记", phone="13800000006", roles=("first_secretary",))
    await add_greeting_template(notify_db, "festival_greeting", "wechat", "{{ name }}，节日快乐")
    long_body = "{{ name }}您好！" + "值此佳节，" * 14 + "{{ sender }}敬上"
    await add_greeting_template(notify_db, "long_greeting", body=long_body)
    audience = {"roles": ["team_member"], "list_ids": [str(migrants)]}
    campaign = await created(notify, channels=["sms", "wechat"], audience=audience)
    long_one = await created(notify, template_code="long_greeting")

    preview = (await notify.get(f"{CAMPAIGNS}/{campaign['id']}/preview")).json()
    long_preview = (await notify.get(f"{CAMPAIGNS}/{long_one['id']}/preview")).json()

    assert preview == {
        "contacts": 7,
        "recipients": 6,
        "duplicates": 1,  # 张三 is a team member and on the list: greeted once
        "by_channel": {"sms": 3, "wechat": 1},
        "unreachable": 1,
        "opted_out": 1,
        "sms_parts": 1,
        "cost": "0.14",  # 3 SMS of 1 part at 0.045 yuan
    }
    # 【驻村管理】 + 张晓明您好！ + 70 characters + 驻村工作队敬上: 89 characters, 2 parts of 67
    assert (long_preview["sms_parts"], long_preview["by_channel"]) == (2, {"sms": 2})
    assert (long_preview["unreachable"], long_preview["cost"]) == (2, "0.18")  # no phone: 王五 赵六


async def test_a_due_campaign_is_planned_once_one_greeting_a_phone(notify, notify_db):
    await set_quiet_hours(notify_db, around_now=True)  # held: the test sees them queued
    migrants, at_home = await add_list(notify_db), await add_list(notify_db)
    await add_contact(notify_db, "张三", list_id=migrants, phone="13800000001")
    await add_contact(notify_db, "张三", list_id=at_home, phone="13800000001")
    await add_contact(notify_db, "李四", list_id=at_home, phone="13800000002")
    await add_contact(notify_db, "王五", list_id=at_home, phone=None)
    await add_opt_out(notify_db, "13800000002")
    lists = {"roles": [], "list_ids": [str(migrants), str(at_home)]}
    campaign = await created(notify, audience=lists)

    await make_campaign_due(notify_db, campaign["id"])
    # Two replicas at once, and the app's own dispatcher besides: one plans it.
    started = await asyncio.gather(plan_due(notify_db), plan_due(notify_db))
    await eventually(lambda: detail(notify, campaign["id"]), lambda c: c["planned"] is not None)
    again = await plan_due(notify_db)

    stored = await detail(notify, campaign["id"])
    assert sum(started) <= 1 and again == 0
    assert (stored["status"], stored["planned"]) == ("sending", 3)
    assert stored["planned_at"] is not None
    assert {k: v for k, v in stored["progress"].items() if v} == {
        "queued": 1,
        "opted_out": 1,
        "failed": 1,
    }
    assert await count_rows(notify_db, "message") == 3
    [greeting] = [
        dict(m)
        for m in (await notify.get("/api/v1/notify/messages", params={"status": "queued"})).json()[
            "items"
        ]
    ]
    assert greeting["body"] == "张三您好！中秋节到了，驻村工作队祝您节日快乐、阖家幸福！"
    assert (greeting["priority"], greeting["address_masked"]) == ("greeting", "138****0001")
    key = message_key("campaign", campaign["id"], VAULT.hash("13800000001"))
    assert await count_rows(notify_db, "message", "idempotency_key = $1", key) == 1
    assert await count_rows(notify_db, "message", "error_code = 'no_address'") == 1


async def test_pause_holds_the_greetings_and_resume_sends_them(notify, notify_db):
    campaign_id = await held_and_planned(notify, notify_db, 3)
    path = f"{CAMPAIGNS}/{campaign_id}"

    paused = await notify.post(f"{path}/pause")
    await set_quiet_hours(notify_db, around_now=False)  # the hour would let them go now
    await asyncio.sleep(0.5)  # ten of the dispatcher's polls
    held = await detail(notify, campaign_id)
    resumed = await notify.post(f"{path}/resume")
    done = await eventually(
        lambda: detail(notify, campaign_id), lambda c: c["status"] == "completed"
    )

    assert paused.json()["status"] == "paused"
    assert held["progress"]["queued"] == 3 and held["progress"]["sent"] == 0
    assert resumed.json()["status"] == "sending"
    assert done["progress"]["sent"] == 3 and done["completed_at"] is not None
    assert await count_rows(notify_db, "outbox", "type = 'notify.campaign.completed'") == 1
    assert await count_rows(notify_db, "audit_entry", "action LIKE 'notify.campaign.%'") == 3


async def test_a_campaign_paused_before_its_time_waits_for_it_again(notify, notify_db):
    await add_contact(notify_db)
    campaign = await created(notify)
    path = f"{CAMPAIGNS}/{campaign['id']}"

    await notify.post(f"{path}/pause")
    await make_campaign_due(notify_db, campaign["id"])
    skipped = await plan_due(notify_db)
    resumed = await notify.post(f"{path}/resume")

    assert skipped == 0 and await count_rows(notify_db, "message") == 0
    assert resumed.json()["status"] == "scheduled"  # never planned: its time decides


async def test_cancel_leaves_the_queued_greetings_unsent(notify, notify_db):
    campaign_id = await held_and_planned(notify, notify_db, 2)
    path = f"{CAMPAIGNS}/{campaign_id}"

    cancelled = await notify.post(f"{path}/cancel")
    await set_quiet_hours(notify_db, around_now=False)
    await asyncio.sleep(0.3)
    illegal = [
        await notify.post(f"{path}/pause"),
        await notify.post(f"{path}/resume"),
        await notify.post(f"{path}/cancel"),
    ]

    assert cancelled.json()["status"] == "cancelled"
    assert (await detail(notify, campaign_id))["progress"]["cancelled"] == 2
    assert await count_rows(notify_db, "message", "status = 'sent'") == 0
    assert [(a.status_code, a.json()["code"]) for a in illegal] == [
        (409, "campaign_not_active"),
        (409, "campaign_not_paused"),
        (409, "campaign_not_cancellable"),
    ]


async def test_a_campaign_completes_when_nothing_is_left_to_send(notify, notify_db):
    await set_quiet_hours(notify_db, around_now=False)
    await add_contact(notify_db, "张三", phone="13800000001")
    await add_contact(notify_db, "王五", phone=None)
    campaign = await created(notify)
    await make_campaign_due(notify_db, campaign["id"])

    done = await eventually(
        lambda: detail(notify, campaign["id"]), lambda c: c["status"] == "completed"
    )
    listed = await notify.get(CAMPAIGNS, params={"status": "completed"})

    assert {k: v for k, v in done["progress"].items() if v} == {"sent": 1, "failed": 1}
    assert done["planned"] == 2
    assert [c["id"] for c in listed.json()["items"]] == [campaign["id"]]
    database = Database(notify_db)
    try:
        async with database.transaction() as session:
            assert await finish_done(session) == 0  # completed once
    finally:
        await database.dispose()


async def test_quiet_hours_hold_a_greeting_but_not_an_alert(notify, notify_db):
    await set_quiet_hours(notify_db, around_now=True)
    cadre = await add_contact(notify_db, "张三", phone="13800000001")
    campaign = await created(notify)
    await make_campaign_due(notify_db, campaign["id"])
    await eventually(lambda: detail(notify, campaign["id"]), lambda c: c["planned"] == 1)
    database = Database(notify_db)
    try:
        async with database.transaction() as session:
            contact = await session.get(Contact, cadre)
            await queue(
                session,
                key=message_key("test-alert", cadre),
                contact=contact,
                recipient_id=cadre,
                channels=["sms"],
                templates=await templates_for(session, "monthly_minimum_alert"),
                values={
                    "recipient_name": "张三",
                    "cadre_name": "李四",
                    "village": "511529100201",
                    "unit_name": "县农业局",
                    "month": "11月",
                    "counted": 10,
                    "required": 15,
                },
                priority="alert",
                region_code="511529100201",
                providers=PROVIDERS,
            )
    finally:
        await database.dispose()

    await eventually(
        lambda: count_rows(notify_db, "message", "priority = 'alert' AND status = 'sent'"),
        lambda n: n == 1,
    )
    await asyncio.sleep(0.3)
    held = "priority = 'greeting' AND status = 'queued'"
    assert await count_rows(notify_db, "message", held) == 1
