"""联系人: a user of the system becomes a contact from identity's event; phones read masked or
clear (and audited) by who asks; how a contact is reached is set; dispatching units added with
their WeCom robot's key kept secret; a township sees only its own; a phone that opted out
receives no queued greeting, and can opt back in."""

from services.common.contracts.identity import UserCreated, UserUpdated
from services.common.events import make_event
from services.common.permissions import Permission
from services.common.testing import count_rows, eventually
from tests.common.events import publish
from tests.notify.factories import (
    CONTACTS,
    NOTIFY,
    api_key_headers,
    list_csv,
    message_status,
    queued_message,
    unit_body,
    upload_list,
    user_created,
)

UNITS = f"{NOTIFY}/units"
OPT_OUTS = f"{NOTIFY}/opt-outs"
JINPING = "511529100000"  # 锦屏镇
JINPING_ONE = "511529100201"  # 锦屏一村
XINAN_ONE = "511529101201"  # 新安镇的村
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


async def a_unit(notify, **overrides) -> dict:
    response = await notify.post(UNITS, json=unit_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_user_event_makes_a_contact_the_county_reads_in_clear(notify, notify_db, nats_url):
    event = user_created(roles=["first_secretary"])
    await publish(nats_url, event)
    user_id = event.data["user_id"]

    found = await eventually(lambda: notify.get(f"{CONTACTS}/{user_id}"), lambda r: r.is_success)
    contact = found.json()

    assert event.type == UserCreated.type
    assert contact | {"id": None} == {
        "id": None,
        "kind": "user",
        "name": "李明",
        "region_code": JINPING_ONE,
        "roles": ["first_secretary"],
        "list_id": None,
        "unit_code": None,
        "phone": "13812345678",
        "has_wechat": False,
        "has_wecom": False,
        "channels": ["sms"],
        "away": False,
        "active": True,
        "opted_out": False,
    }
    read = "action = 'sensitive.phone.read' AND target = $1"
    assert await count_rows(notify_db, "audit_entry", read, user_id) == 1


async def test_a_caller_without_the_clear_permission_reads_phones_masked_and_cannot_search(
    notify, notify_db, issuer
):
    unit = await a_unit(notify)
    masked_reader = api_key_headers(issuer, Permission.CONTACT_READ)

    listed = await notify.get(CONTACTS, headers=masked_reader)
    one = await notify.get(f"{CONTACTS}/{unit['id']}", headers=masked_reader)
    search = await notify.get(CONTACTS, params={"phone": "13800001111"}, headers=masked_reader)

    assert [c["phone"] for c in listed.json()["items"]] == ["138****1111"]
    assert one.json()["phone"] == "138****1111"
    assert (search.status_code, search.json()["code"]) == (403, "phone_search_not_permitted")
    # the one clear read is the county admin's, of the unit they created
    assert await count_rows(notify_db, "audit_entry", "action = 'sensitive.phone.read'") == 1


async def test_a_phone_is_found_however_it_is_typed(notify):
    unit = await a_unit(notify)
    await a_unit(notify, unit_code="OTHER-UNIT", phone="13900002222")

    found = await notify.get(CONTACTS, params={"phone": "+86 138-0000-1111"})
    nobody = await notify.get(CONTACTS, params={"phone": "13700003333"})
    wrong = await notify.get(CONTACTS, params={"phone": "12345"})

    assert [c["id"] for c in found.json()["items"]] == [unit["id"]]
    assert nobody.json()["items"] == []
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_phone")
    assert "12345" not in wrong.text


async def test_lists_filter_by_kind_role_and_region(notify, nats_url):
    villager = list_csv([["张三", "13811112222", "", "是"]])
    assert (await upload_list(notify, villager)).status_code == 201
    unit = await a_unit(notify)
    event = user_created(roles=["township_officer"], region_code=JINPING)
    await publish(nats_url, event)
    officer = str(event.data["user_id"])
    await eventually(lambda: notify.get(f"{CONTACTS}/{officer}"), lambda r: r.is_success)

    async def ids(**params) -> list[str]:
        return [c["id"] for c in (await notify.get(CONTACTS, params=params)).json()["items"]]

    assert await ids(kind="unit") == [unit["id"]]
    assert await ids(role="township_officer") == [officer]
    assert len(await ids(region_code=JINPING_ONE)) == 1  # the villager
    assert len(await ids()) == 3


async def test_preferences_set_how_a_contact_is_reached(notify, notify_db):
    unit = await a_unit(notify)
    path = f"{CONTACTS}/{unit['id']}/preferences"

    response = await notify.put(path, json={"channels": ["wechat", "sms"], "wechat_openid": OPENID})

    assert response.status_code == 200, response.text
    assert (response.json()["channels"], response.json()["has_wechat"]) == (["wechat", "sms"], True)
    stored = (await notify.get(f"{CONTACTS}/{unit['id']}")).json()
    assert (stored["channels"], stored["has_wechat"]) == (["wechat", "sms"], True)
    audited = "action = 'notify.contact.preferences_set'"
    assert await count_rows(notify_db, "audit_entry", audited) == 1


async def test_preferences_outlast_identitys_later_events(notify, nats_url):
    created = user_created()
    user_id = created.data["user_id"]
    await publish(nats_url, created)
    await eventually(lambda: notify.get(f"{CONTACTS}/{user_id}"), lambda r: r.is_success)
    channels = {"channels": ["wechat", "sms"], "wechat_openid": OPENID}
    assert (await notify.put(f"{CONTACTS}/{user_id}/preferences", json=channels)).is_success

    renamed = {**created.data, "display_name": "李明明", "changed": ["display_name"]}
    updated = make_event(
        UserUpdated(**renamed), source="/gateway", subject=user_id, region_code=JINPING_ONE
    )
    await publish(nats_url, updated)
    found = await eventually(
        lambda: notify.get(f"{CONTACTS}/{user_id}"), lambda r: r.json()["name"] == "李明明"
    )

    assert (found.json()["channels"], found.json()["has_wechat"]) == (["wechat", "sms"], True)


async def test_bad_preferences_are_refused_and_change_nothing(notify):
    unit = await a_unit(notify)
    path = f"{CONTACTS}/{unit['id']}/preferences"

    for body in (
        {"channels": []},
        {"channels": ["sms", "sms"]},
        {"channels": ["fax"]},
        {"channels": ["wechat"], "wechat_openid": "too-short"},
        {"channels": ["wechat"], "wechat_openid": OPENID[:-1] + "!"},
        {"channels": ["sms"], "colour": "red"},
    ):
        response = await notify.put(path, json=body)
        assert response.status_code == 422, body
    stored = (await notify.get(f"{CONTACTS}/{unit['id']}")).json()
    assert (stored["channels"], stored["has_wechat"]) == (["wecom", "sms"], False)


async def test_a_unit_is_reached_by_its_robot_whose_key_is_never_shown(notify, notify_db):
    body = unit_body(unit_code="  11511529MB0000000X ")

    response = await notify.post(UNITS, json=body)

    assert response.status_code == 201, response.text
    unit = response.json()
    assert response.headers["location"] == f"{CONTACTS}/{unit['id']}"
    assert body["wecom_key"] not in response.text and "wecom_key" not in response.text
    assert (unit["kind"], unit["unit_code"], unit["has_wecom"]) == (
        "unit",
        "11511529MB0000000X",
        True,
    )
    assert unit["channels"] == ["wecom", "sms"]
    listed = await notify.get(CONTACTS, params={"kind": "unit"})
    assert body["wecom_key"] not in listed.text
    sealed = "wecom_key_encrypted IS NOT NULL AND position($1::bytea IN wecom_key_encrypted) = 0"
    assert await count_rows(notify_db, "contact", sealed, body["wecom_key"].encode()) == 1
    assert await count_rows(notify_db, "audit_entry", "action = 'notify.unit.created'") == 1


async def test_a_unit_code_is_one_unit_in_a_county(notify, notify_db):
    await a_unit(notify)

    again = await notify.post(UNITS, json=unit_body(name="又一个", region_code=JINPING_ONE))
    neither = await notify.post(UNITS, json=unit_body(unit_code="X", phone=None, wecom_key=None))
    bad_phone = await notify.post(UNITS, json=unit_body(unit_code="Y", phone="12345"))

    assert (again.status_code, again.json()["code"]) == (409, "unit_exists")
    assert neither.status_code == 422
    assert (bad_phone.status_code, bad_phone.json()["code"]) == (422, "invalid_phone")
    assert await count_rows(notify_db, "contact") == 1


async def test_a_unit_is_changed_and_keeps_one_way_to_reach_it(notify):
    unit = await a_unit(notify)
    other = await a_unit(notify, unit_code="OTHER-UNIT")
    villagers = (await upload_list(notify, list_csv([["张三", "13811112222", "", "否"]]))).json()
    [villager] = (await notify.get(CONTACTS, params={"list_id": villagers["id"]})).json()["items"]
    path = f"{UNITS}/{unit['id']}"

    renamed = await notify.put(path, json={"name": "屏山县交通局", "wecom_key": None})
    unreachable = await notify.put(path, json={"phone": None})
    taken = await notify.put(path, json={"unit_code": other["unit_code"]})
    not_a_unit = await notify.put(f"{UNITS}/{villager['id']}", json={"name": "无"})

    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["has_wecom"]) == ("屏山县交通局", False)
    assert (unreachable.status_code, unreachable.json()["code"]) == (422, "unit_unreachable")
    assert (taken.status_code, taken.json()["code"]) == (409, "unit_exists")
    assert (not_a_unit.status_code, not_a_unit.json()["code"]) == (404, "unit_not_found")
    stored = (await notify.get(f"{CONTACTS}/{unit['id']}")).json()
    assert (stored["phone"], stored["unit_code"]) == ("13800001111", unit["unit_code"])


async def test_a_township_sees_and_changes_only_its_own(notify, notify_db, issuer):
    ours = await a_unit(notify, unit_code="OURS", region_code=JINPING_ONE)
    theirs = await a_unit(notify, unit_code="THEIRS", region_code=XINAN_ONE)
    officer = issuer.headers("township_officer", region_code=JINPING)

    listed = await notify.get(CONTACTS, headers=officer)
    read = await notify.get(f"{CONTACTS}/{theirs['id']}", headers=officer)
    changed = await notify.put(
        f"{CONTACTS}/{theirs['id']}/preferences", json={"channels": ["sms"]}, headers=officer
    )
    created = await notify.post(
        UNITS, json=unit_body(unit_code="NEW", region_code=XINAN_ONE), headers=officer
    )
    moved = await notify.put(
        f"{UNITS}/{ours['id']}", json={"region_code": XINAN_ONE}, headers=officer
    )

    assert [c["id"] for c in listed.json()["items"]] == [ours["id"]]
    assert listed.json()["items"][0]["phone"] == "13800001111"  # township officers read it
    assert read.status_code == 404 and changed.status_code == 404
    assert (created.status_code, created.json()["code"]) == (403, "outside_scope")
    assert (moved.status_code, moved.json()["code"]) == (403, "outside_scope")
    assert await count_rows(notify_db, "contact") == 2


async def test_an_opt_out_stops_the_phones_queued_greetings_and_is_idempotent(notify, notify_db):
    villagers = list_csv([["张三", "13811112222", "", "否"], ["李四", "13833334444", "", "是"]])
    listed = (await upload_list(notify, villagers)).json()
    people = (await notify.get(CONTACTS, params={"list_id": listed["id"]})).json()["items"]
    zhang = next(p for p in people if p["name"] == "张三")
    li = next(p for p in people if p["name"] == "李四")
    greeting = await queued_message(notify_db, zhang["id"], channel="sms", held=True)
    alert = await queued_message(notify_db, zhang["id"], priority="alert", channel="sms", held=True)
    others = await queued_message(notify_db, li["id"], channel="sms", held=True)

    first = await notify.post(OPT_OUTS, json={"phone": "138 1111 2222"})
    again = await notify.post(OPT_OUTS, json={"phone": "13811112222"})

    assert first.status_code == 201, first.text
    assert first.json() | {"opted_out_at": None} == {
        "phone": "138****2222",
        "opted_out_at": None,
        "via": "api",
        "greetings_stopped": 1,
    }
    assert again.status_code == 200
    assert again.json()["opted_out_at"] == first.json()["opted_out_at"]
    assert again.json()["greetings_stopped"] == 0
    assert await message_status(notify_db, greeting) == "opted_out"
    assert await message_status(notify_db, alert) == "queued"  # alerts are not greetings
    assert await message_status(notify_db, others) == "queued"
    assert (await notify.get(f"{CONTACTS}/{zhang['id']}")).json()["opted_out"] is True
    assert await count_rows(notify_db, "opt_out") == 1
    assert "13811112222" not in first.text


async def test_a_phone_opts_back_in(notify, notify_db):
    unit = await a_unit(notify)
    await notify.post(OPT_OUTS, json={"phone": "13800001111"})

    removed = await notify.post(f"{OPT_OUTS}/remove", json={"phone": "13800001111"})
    again = await notify.post(f"{OPT_OUTS}/remove", json={"phone": "13800001111"})

    assert (removed.status_code, again.status_code) == (204, 204)
    assert (await notify.get(f"{CONTACTS}/{unit['id']}")).json()["opted_out"] is False
    assert await count_rows(notify_db, "opt_out") == 0
    assert await count_rows(notify_db, "audit_entry", "action LIKE 'notify.opt_out.%'") == 3


async def test_an_opt_out_of_no_phone_is_refused(notify, notify_db):
    response = await notify.post(OPT_OUTS, json={"phone": "010-12345678"})

    assert (response.status_code, response.json()["code"]) == (422, "invalid_phone")
    assert "12345678" not in response.text
    assert await count_rows(notify_db, "opt_out") == 0
