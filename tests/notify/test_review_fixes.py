"""What a county would trip over: a provider's own template variables (Tencent's positional
ones), a person's preferred channel, a phone that unsubscribed after its greeting was queued,
a retried campaign, a festival a campaign greets for, a damaged spreadsheet, a template that
would build a giant."""

import asyncio
import io
import uuid
import zipfile

from services.common.testing import count_rows, eventually, listening
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.common.events import publish
from tests.conftest import NOTIFY_FAST, client_of
from tests.notify.factories import (
    TEMPLATES,
    absence_event,
    add_contact,
    add_opt_out,
    campaign_body,
    list_xlsx,
    messages,
    queue_greetings,
    set_quiet_hours,
    settled,
    sql,
    template_body,
    upload_list,
)
from tests.notify.providers.fakes import TencentFake

TENCENT = ("AKIDtest", "tencent-secret", "1400000001")


async def test_tencents_positional_variables_are_filled_as_the_template_says(
    notify_db, nats_url, issuer
):
    leader = await add_contact(notify_db, name="王联系", phone="13800001111")
    fake = TencentFake(*TENCENT)
    async with listening(fake.app()) as url:
        settings = {
            **NOTIFY_FAST,
            "sms_provider": "tencent",
            "tencent": dict(zip(("secret_id", "secret_key", "sdk_app_id"), TENCENT, strict=True))
            | {"endpoint": url},
        }
        app = (create_app, NotifySettings, notify_db, nats_url, issuer)
        async with client_of(*app, **settings) as notify:
            saved = await notify.put(
                f"{TEMPLATES}/absence_alert/sms",
                json=template_body(
                    provider_template_code="1234567",
                    provider_params=[
                        {"name": "1", "value": "{{ cadre_name }}"},
                        {"name": "2", "value": "{{ days }}天"},
                    ],
                ),
            )
            assert saved.status_code == 200, saved.text
            event = absence_event(
                contact_leader_id=leader, branch_secretary_id=None, cadre_id=leader
            )
            await publish(nats_url, event)
            [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)

    assert message["status"] == "sent"
    [sms] = fake.accepted
    assert (sms["template_id"], sms["params"]) == ("1234567", ["王联系", "3天"])


async def test_a_provider_variable_is_checked_like_the_body(notify, notify_db):
    before = await count_rows(notify_db, "template")
    refused = await notify.put(
        f"{TEMPLATES}/absence_alert/sms",
        json=template_body(provider_params=[{"name": "1", "value": "{{ salary }}"}]),
    )
    twice = await notify.put(
        f"{TEMPLATES}/absence_alert/sms",
        json=template_body(
            provider_params=[{"name": "1", "value": "{{ days }}"}, {"name": "1", "value": "x"}]
        ),
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "template_unknown_variable")
    assert refused.json()["errors"][0]["field"] == "provider_params[0].value"
    assert (twice.status_code, twice.json()["code"]) == (422, "provider_params_duplicate")
    assert await count_rows(notify_db, "template", "provider_params <> '[]'") == 0
    assert await count_rows(notify_db, "template") == before


async def test_an_alert_goes_by_the_channel_the_person_prefers(notify, notify_db, nats_url):
    openid = "oLeader000000000000000000001"
    leader = await add_contact(notify_db, phone="13800002222", wechat_openid=openid)
    chosen = await notify.put(
        f"/api/v1/notify/contacts/{leader}/preferences",
        json={"channels": ["wechat", "sms"], "wechat_openid": openid},
    )
    assert chosen.status_code == 200, chosen.text
    await sql(
        notify_db,
        "INSERT INTO template (id, code, channel, purpose, name, body, variables,"
        " provider_template_code, created_at, updated_at) VALUES (gen_random_uuid(),"
        " 'absence_alert', 'wechat', 'attendance.absence.detected', '缺勤', '{{ days }}天',"
        " '{days}', 'TPL', now(), now())",
    )
    await sql(notify_db, "UPDATE alert_route SET channels = '{sms,wechat}'")
    event = absence_event(contact_leader_id=leader, branch_secretary_id=None)
    await publish(nats_url, event)
    [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
    assert message["channel"] == "wechat"


async def test_a_greeting_to_a_phone_that_unsubscribed_since_is_not_sent(notify, notify_db):
    await set_quiet_hours(notify_db, around_now=True)  # queued, waiting for the morning
    villager = await add_contact(notify_db, phone="13700001234", roles=())
    campaign = await queue_greetings(notify_db, [villager], provider="console")
    await add_opt_out(notify_db, "13700001234")  # 退订 after the campaign was planned
    await set_quiet_hours(notify_db, around_now=False)

    [greeting] = await eventually(lambda: messages(notify, campaign_id=str(campaign)), settled)
    assert (greeting["status"], greeting["error_code"]) == ("opted_out", "opted_out")


async def test_a_retried_campaign_request_creates_one_campaign(notify, notify_db):
    await add_contact(notify_db)  # a team member: the audience is someone
    key = {"Idempotency-Key": "a2f3c0de-retry-1"}
    first = await notify.post("/api/v1/notify/campaigns", json=campaign_body(), headers=key)
    again = await notify.post("/api/v1/notify/campaigns", json=campaign_body(), headers=key)
    other = await notify.post("/api/v1/notify/campaigns", json=campaign_body())
    changed = await notify.post(
        "/api/v1/notify/campaigns", json=campaign_body(name="另一个活动"), headers=key
    )

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert (changed.status_code, changed.json()["code"]) == (422, "idempotency_key_reused")
    assert again.json()["id"] == first.json()["id"]
    assert await count_rows(notify_db, "campaign") == 2


async def test_a_festival_a_campaign_greets_for_is_not_deleted(notify, notify_db):
    yi = "/api/v1/notify/festivals/511529/yi_new_year/2027"
    await notify.put(
        yi, json={"name": "彝族年", "first_day": "2027-11-20", "last_day": "2027-11-22"}
    )
    await add_contact(notify_db)
    body = campaign_body(festival={"code": "yi_new_year", "year": 2027})
    created = await notify.post("/api/v1/notify/campaigns", json=body)
    assert created.status_code == 201, created.text

    refused = await notify.delete(yi)
    await notify.post(f"/api/v1/notify/campaigns/{created.json()['id']}/cancel")
    allowed = await notify.delete(yi)

    assert (refused.status_code, refused.json()["code"]) == (409, "festival_in_use")
    assert allowed.status_code == 204


async def test_a_damaged_spreadsheet_is_a_422_and_stores_nothing(notify, notify_db):
    whole = list_xlsx([["张三", "13800001111", "511529100201", "是"]])
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(whole)) as source, zipfile.ZipFile(damaged, "w") as copy:
        for item in source.infolist():
            data = source.read(item.filename)
            cut = item.filename == "xl/worksheets/sheet1.xml"
            copy.writestr(item, data[: len(data) // 2] if cut else data)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    answer = await upload_list(notify, damaged.getvalue(), xlsx)

    assert (answer.status_code, answer.json()["code"]) == (422, "contact_list_unreadable")
    assert await count_rows(notify_db, "contact_list") == 0


async def test_a_template_that_would_build_a_giant_is_refused(notify, notify_db):
    for body in ('{{ "好" * 1000000000 }}', "{{ 9 ** 99999 }}"):
        answer = await notify.put(
            f"{TEMPLATES}/giant/sms", json=template_body(purpose="greeting", body=body)
        )
        assert answer.status_code == 422, answer.text
    assert await count_rows(notify_db, "template", "code = 'giant'") == 0


async def test_a_city_wide_campaign_keeps_each_countys_quiet_hours(notify, notify_db):
    """A campaign over a city (a date's greeting from the city's office): the message to a
    village of Pingshan waits out Pingshan's own quiet hours, the default's are not enough."""
    await set_quiet_hours(notify_db, around_now=True)  # Pingshan's: now
    villager = await add_contact(notify_db, phone="13700005678", roles=())
    campaign = await queue_greetings(notify_db, [villager], provider="console")
    await sql(notify_db, "UPDATE campaign SET region_code = '511500000000' WHERE id = $1", campaign)
    await asyncio.sleep(0.5)  # the dispatcher's rounds: it stays
    [waiting] = await messages(notify, campaign_id=str(campaign))

    await set_quiet_hours(notify_db, around_now=False)
    [sent] = await eventually(lambda: messages(notify, campaign_id=str(campaign)), settled)
    assert (waiting["status"], sent["status"]) == ("queued", "sent")


async def test_a_campaign_that_cannot_be_planned_is_paused_and_holds_back_no_other(
    notify, notify_db
):
    """Its festival gone from under it (by hand, past the API's guard): paused, said in the
    audit, and the campaign due after it goes out."""
    await set_quiet_hours(notify_db, around_now=False)
    await add_contact(notify_db)
    yi = "/api/v1/notify/festivals/511529/yi_new_year/2027"
    await notify.put(
        yi, json={"name": "彝族年", "first_day": "2027-11-20", "last_day": "2027-11-22"}
    )
    broken = await notify.post(
        "/api/v1/notify/campaigns",
        json=campaign_body(festival={"code": "yi_new_year", "year": 2027}),
    )
    fine = await notify.post("/api/v1/notify/campaigns", json=campaign_body())
    await sql(notify_db, "DELETE FROM county_festival")
    await sql(notify_db, "UPDATE campaign SET send_at = now() - interval '1 minute'")
    await sql(
        notify_db,
        "UPDATE campaign SET send_at = now() - interval '2 minutes' WHERE id = $1",
        uuid.UUID(broken.json()["id"]),
    )

    async def status(campaign) -> str:
        return (await notify.get(f"/api/v1/notify/campaigns/{campaign.json()['id']}")).json()[
            "status"
        ]

    await eventually(lambda: status(fine), lambda s: s in ("sending", "completed"))
    assert await status(broken) == "paused"
    assert (
        await count_rows(
            notify_db, "audit_entry", "action = 'notify.campaign.paused' AND detail ? 'because'"
        )
        == 1
    )
