"""Message templates: the seeded ones listed; one saved, replaced, checked with sample values
(an SMS too long for its parts refused), previewed; unknown variables and what a channel's
provider needs missing refused, storing nothing; a template in use not deleted."""

from datetime import timedelta

from services.common.testing import count_rows
from services.notify.templates.render import SAMPLES, VARIABLES
from tests.notify.factories import (
    ALERT_ROUTES,
    TEMPLATES,
    add_campaign,
    route_set,
    template_body,
)

SEEDED = {  # notify_0003
    ("absence_alert", "sms"),
    ("absence_alert", "wecom"),
    ("checkin_receipt", "console"),
    ("festival_greeting", "sms"),
    ("monthly_minimum_alert", "sms"),
    ("spotcheck_absent_alert", "sms"),
    ("talk_escalated_alert", "sms"),
    ("yearly_minimum_alert", "sms"),
}
NEW = f"{TEMPLATES}/absence_short/sms"
IN_A_MONTH = timedelta(days=30)  # a campaign's time, far enough not to be planned


def test_every_variable_has_a_sample():
    assert set().union(*VARIABLES.values()) <= set(SAMPLES)


async def listed(client, **params) -> list[dict]:
    response = await client.get(TEMPLATES, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_seeded_templates_are_listed_and_campaign_authors_read_them(notify, issuer):
    township = issuer.headers("township_officer", region_code="511529100000")

    everything = await listed(notify, limit=500)
    sms_greetings = await notify.get(
        TEMPLATES, params={"channel": "sms", "purpose": "greeting"}, headers=township
    )
    one = await notify.get(f"{TEMPLATES}/absence_alert/wecom", headers=township)

    assert {(t["code"], t["channel"]) for t in everything} == SEEDED
    assert [t["code"] for t in sms_greetings.json()["items"]] == ["festival_greeting"]
    assert one.status_code == 200, one.text
    assert one.json()["purpose"] == "attendance.absence.detected"
    assert one.json()["variables"] == [
        "cadre_name",
        "days",
        "first_day",
        "recipient_name",
        "unit_name",
        "village",
    ]
    assert {t["channel"] for t in await listed(notify, code="absence_alert")} == {"sms", "wecom"}


async def test_a_template_is_saved_with_its_sample_then_replaced(notify, notify_db):
    created = await notify.put(NEW, json=template_body())
    replaced = await notify.put(
        NEW, json=template_body(body="{{ cadre_name }}缺勤{{ days }}天。", max_parts=1)
    )
    read = await notify.get(NEW)

    assert created.status_code == 201, created.text
    assert created.headers["location"] == NEW
    saved = created.json()
    assert saved["variables"] == ["cadre_name", "days", "recipient_name"]
    assert saved["sample"] == "【驻村管理】李明华您好：王建国已连续12天不在村，请核实。"
    assert (saved["sample_parts"], saved["max_parts"]) == (1, 3)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == saved["id"]
    assert replaced.json()["sample"] == "【驻村管理】王建国缺勤12天。"
    assert read.json()["body"] == "{{ cadre_name }}缺勤{{ days }}天。"
    assert read.json()["max_parts"] == 1
    assert await count_rows(notify_db, "template", "code = 'absence_short'") == 1
    assert await count_rows(notify_db, "audit_entry", "action = 'notify.template.set'") == 2


async def test_an_sms_longer_with_sample_values_than_its_parts_is_refused(notify, notify_db):
    long_body = "{{ recipient_name }}您好：" + "驻村干部{{ cadre_name }}（{{ unit_name }}）" * 10
    sixty_five = "驻" * 65  # with 【驻村管理】 (6 characters): 71, two parts

    too_long = await notify.put(NEW, json=template_body(body=long_body, max_parts=1))
    two_parts_allowed_one = await notify.put(NEW, json=template_body(body=sixty_five, max_parts=1))
    two_parts = await notify.put(NEW, json=template_body(body=sixty_five, max_parts=2))

    assert (too_long.status_code, too_long.json()["code"]) == (422, "sms_too_long")
    assert too_long.headers["content-type"] == "application/problem+json"
    # 【驻村管理】李明华您好： (12) and 10 times 驻村干部王建国（县农业农村局） (15): 162, 3 parts
    assert "共 3 条" in too_long.json()["detail"]
    assert two_parts_allowed_one.json()["code"] == "sms_too_long"
    assert "共 2 条" in two_parts_allowed_one.json()["detail"]
    assert two_parts.status_code == 201, two_parts.text
    assert (len(two_parts.json()["sample"]), two_parts.json()["sample_parts"]) == (71, 2)
    assert await count_rows(notify_db, "template", "code = 'absence_short'") == 1


async def test_a_preview_counts_parts_and_stores_nothing(notify, notify_db):
    def preview(**overrides):
        body = {"purpose": "greeting", "body": "节" * 71, "channel": "sms", **overrides}
        return notify.post(f"{TEMPLATES}/preview", json=body)

    seventy_one = await preview()
    seventy = await preview(body="节" * 70)
    signed = await preview(body="节" * 64, sign_name="驻村管理")  # 6 + 64 = 70
    wecom = await preview(body="节" * 200, channel="wecom")
    with_values = await preview(
        body="{{ name }}您好！{{ festival }}快乐！", values={"name": "阿西"}, sign_name="屏山驻村"
    )
    unknown = await preview(body="{{ name }}的电话{{ phone }}")

    assert (seventy_one.status_code, seventy_one.json()["parts"]) == (200, 2)
    assert seventy.json() == {"text": "节" * 70, "parts": 1, "variables": []}
    assert signed.json()["parts"] == 1
    assert wecom.json()["parts"] == 1
    assert with_values.json() == {
        "text": "【屏山驻村】阿西您好！中秋节快乐！",
        "parts": 1,
        "variables": ["festival", "name"],
    }
    assert (unknown.status_code, unknown.json()["code"]) == (422, "template_unknown_variable")
    assert await count_rows(notify_db, "template") == len(SEEDED)
    assert await count_rows(notify_db, "audit_entry") == 0


async def test_bad_templates_are_a_422_and_store_nothing(notify, notify_db):
    absence_wecom = f"{TEMPLATES}/absence_alert/wecom"
    cases = [
        (NEW, template_body(body="{{ cadre_name }}：{{ phone }}"), "template_unknown_variable"),
        (NEW, template_body(body="{{ cadre_name "), "template_syntax"),
        (NEW, template_body(body="{{ days | no_such_filter }}"), "template_syntax"),
        (NEW, template_body(body="已缺勤{{ days + 1 }}天"), "template_render_failed"),
        (NEW, template_body(purpose="attendance.holiday.taken"), "template_unknown_purpose"),
        (NEW, template_body(sign_name=None), "sms_sign_required"),
        (f"{TEMPLATES}/absence_short/wechat", template_body(), "wechat_template_required"),
        # the code's other channels alert about absences
        (
            f"{TEMPLATES}/absence_alert/console",
            template_body(purpose="greeting", body="{{ name }}"),
            "template_purpose_mismatch",
        ),
        (NEW, template_body(sign_name="【驻村管理】"), "validation_failed"),
        (NEW, template_body(sign_name="驻"), "validation_failed"),
        (NEW, template_body(sign_name="驻村管理驻村管理驻村管理驻"), "validation_failed"),
        (NEW, template_body(max_parts=0), "validation_failed"),
        (NEW, template_body(max_parts=11), "validation_failed"),
        (NEW, template_body(body="  "), "validation_failed"),
        (NEW, template_body(body="缺勤\x00"), "validation_failed"),
        (NEW, {**template_body(), "variables": ["days"]}, "validation_failed"),
        (NEW, {"purpose": "greeting"}, "validation_failed"),
        (f"{TEMPLATES}/Absence-Short/sms", template_body(), "validation_failed"),
        (f"{TEMPLATES}/absence_short/email", template_body(), "validation_failed"),
        # a wecom template: no sign needed, but the body still checked
        (absence_wecom, template_body(body="{{ phone }}"), "template_unknown_variable"),
    ]

    answers = [await notify.put(path, json=body) for path, body, _ in cases]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (422, code) for _, _, code in cases
    ], [a.text for a in answers]
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
    assert all(a.json().get("errors") for a in answers), [a.text for a in answers]
    unknown = answers[0].json()["errors"]
    assert unknown == [{"field": "body", "message": "未知变量 phone"}]
    assert await count_rows(notify_db, "template") == len(SEEDED)
    assert await count_rows(notify_db, "template", "updated_by IS NOT NULL") == 0
    assert await count_rows(notify_db, "audit_entry") == 0


async def test_a_template_in_use_is_not_deleted(notify, notify_db):
    routes = await notify.get(ALERT_ROUTES, params={"event_type": "attendance.absence.detected"})
    [route] = routes.json()["items"]
    await add_campaign(notify_db, status="scheduled", send_in=IN_A_MONTH)
    spring = f"{TEMPLATES}/spring_greeting/sms"
    await notify.put(spring, json=template_body(purpose="greeting", body="{{ name }}，春节快乐！"))
    await add_campaign(
        notify_db, status="completed", template_code="spring_greeting", send_in=IN_A_MONTH
    )

    by_route = await notify.delete(f"{TEMPLATES}/absence_alert/sms")
    by_campaign = await notify.delete(f"{TEMPLATES}/festival_greeting/sms")
    new_purpose = await notify.put(
        f"{TEMPLATES}/festival_greeting/sms",
        json=template_body(purpose="attendance.absence.detected"),
    )
    disabled = await notify.put(
        f"{ALERT_ROUTES}/{route['id']}", json=route_set(route, enabled=False)
    )
    after_disabling = await notify.delete(f"{TEMPLATES}/absence_alert/sms")
    finished_campaign = await notify.delete(spring)
    missing = await notify.delete(f"{TEMPLATES}/absence_alert/sms")

    assert (by_route.status_code, by_route.json()["code"]) == (409, "template_in_use")
    assert "attendance.absence.detected" in by_route.json()["detail"]
    assert (by_campaign.status_code, by_campaign.json()["code"]) == (409, "template_in_use")
    assert "中秋问候" in by_campaign.json()["detail"]
    assert (new_purpose.status_code, new_purpose.json()["code"]) == (409, "template_in_use")
    assert disabled.status_code == 200, disabled.text
    assert after_disabling.status_code == 204
    assert finished_campaign.status_code == 204
    assert (missing.status_code, missing.json()["code"]) == (404, "template_not_found")
    assert await count_rows(notify_db, "template") == len(SEEDED) - 1
    assert await count_rows(notify_db, "audit_entry", "action = 'notify.template.deleted'") == 2


async def test_only_template_managers_write_templates(notify, notify_db, issuer):
    township = issuer.headers("township_officer", region_code="511529100000")

    answers = [
        await notify.put(NEW, json=template_body(), headers=township),
        await notify.delete(f"{TEMPLATES}/absence_alert/wecom", headers=township),
        await notify.post(
            f"{TEMPLATES}/preview",
            json={"purpose": "greeting", "body": "x", "channel": "sms"},
            headers=township,
        ),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(403, "permission_denied")] * 3
    assert await count_rows(notify_db, "template") == len(SEEDED)
