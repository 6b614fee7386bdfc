"""Alert routes: the seeded ones listed; a route created, read, replaced and removed, with its
effect on the alerts an event queues (through the real NATS and consumer, and through the
service); bad routes a 422 that stores nothing."""

from uuid import UUID

from services.common.db import Database
from services.common.testing import count_rows, eventually
from services.notify.alerts import service
from services.notify.alerts.book import RouteBook
from services.notify.alerts.parties import SUBJECTS
from tests.common.events import publish
from tests.notify.factories import (
    ALERT_ROUTES,
    SHANGHAI,
    absence_event,
    add_contact,
    messages,
    route_body,
    route_set,
)

ABSENCE = "attendance.absence.detected"
CONSOLE = {channel: "console" for channel in ("sms", "wechat", "wecom", "console")}


async def routes(client, **params) -> list[dict]:
    response = await client.get(ALERT_ROUTES, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_seeded_routes_are_listed(notify):
    listed = await routes(notify)
    [absence] = await routes(notify, event_type=ABSENCE)

    assert {r["event_type"] for r in listed} == set(SUBJECTS)
    assert all(r["enabled"] for r in listed)
    assert (absence["recipients"], absence["template_code"], absence["channels"]) == (
        ["contact_leader", "branch_secretary", "dispatching_unit"],
        "absence_alert",
        ["sms", "wecom"],
    )
    assert await routes(notify, enabled=False) == []


async def test_a_route_is_created_read_replaced_and_removed(notify, notify_db):
    created = await notify.post(ALERT_ROUTES, json=route_body())
    path = created.headers.get("location")
    read = await notify.get(path)
    replaced = await notify.put(
        path, json=route_body(recipients=["cadre", "township"], channels=["wecom", "sms"])
    )
    removed = await notify.delete(path)
    gone = await notify.get(path)

    assert created.status_code == 201, created.text
    assert path == f"{ALERT_ROUTES}/{created.json()['id']}"
    assert read.json() == created.json()
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["recipients"], replaced.json()["channels"]) == (
        ["cadre", "township"],
        ["wecom", "sms"],
    )
    assert removed.status_code == 204
    assert (gone.status_code, gone.json()["code"]) == (404, "alert_route_not_found")
    assert await count_rows(notify_db, "alert_route") == len(SUBJECTS)
    assert [
        await count_rows(notify_db, "audit_entry", "action = $1", f"notify.alert_route.{act}")
        for act in ("created", "updated", "deleted")
    ] == [1, 1, 1]


async def absence_messages(notify, event) -> list[dict]:
    return await messages(notify, event_id=str(event.id))


async def test_disabling_the_absence_route_stops_its_alerts_and_enabling_restarts_them(
    notify, notify_db, nats_url
):
    [route] = await routes(notify, event_type=ABSENCE)
    leader, secretary = await add_contact(notify_db), await add_contact(notify_db)
    disabled = await notify.put(
        f"{ALERT_ROUTES}/{route['id']}", json=route_set(route, enabled=False)
    )
    quiet = absence_event(contact_leader_id=leader, branch_secretary_id=secretary)
    await publish(nats_url, quiet)
    # Handled once its consumer's inbox holds it (in the transaction that would have queued).
    await eventually(lambda: count_rows(notify_db, "inbox", "event_id = $1", quiet.id), bool)
    silenced = await absence_messages(notify, quiet)

    enabled = await notify.put(f"{ALERT_ROUTES}/{route['id']}", json=route_set(route))
    heard = absence_event(contact_leader_id=leader, branch_secretary_id=secretary)
    await publish(nats_url, heard)
    alerts = await eventually(lambda: absence_messages(notify, heard), lambda m: len(m) == 2)

    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert silenced == []
    assert enabled.json()["enabled"] is True
    assert {UUID(m["recipient_id"]) for m in alerts} == {leader, secretary}
    assert {(m["template"], m["channel"], m["route_id"]) for m in alerts} == {
        ("absence_alert", "sms", route["id"])
    }
    assert "已连续3天不在511529100201" in alerts[0]["body"]
    assert await count_rows(notify_db, "message", "event_id = $1", quiet.id) == 0


async def test_a_new_route_alerts_until_it_is_removed(notify, notify_db):
    body = route_body(recipients=["cadre"], channels=["wecom", "sms"])
    route = (await notify.post(ALERT_ROUTES, json=body)).json()
    cadre = await add_contact(notify_db, "王建国")
    database = Database(notify_db)
    book = RouteBook()  # as a notify process keeps them: the delete below reaches it too

    async def alert(event) -> int:
        async with database.transaction() as session:
            return await service.alert(
                session, event, timezone=SHANGHAI, providers=CONSOLE, book=book
            )

    try:
        first = absence_event(cadre_id=cadre)
        queued_with_route = await alert(first)
        await notify.delete(f"{ALERT_ROUTES}/{route['id']}")
        queued_without = await alert(absence_event(cadre_id=cadre))
    finally:
        await database.dispose()

    # the seeded route: leader and secretary (whom notify has not heard of: failed, seen);
    # the new one: the cadre, by SMS (they have no WeCom robot)
    assert (queued_with_route, queued_without) == (3, 2)
    [to_cadre] = await messages(notify, event_id=str(first.id), recipient_id=str(cadre))
    assert (to_cadre["route_id"], to_cadre["channel"]) == (route["id"], "sms")
    assert to_cadre["body"].startswith("王建国您好：驻村干部王建国")


async def test_bad_routes_are_a_422_and_store_nothing(notify, notify_db):
    [seeded] = await routes(notify, event_type=ABSENCE)
    cases = [
        (route_body(event_type="attendance.holiday.taken"), "unknown_event_type"),
        (route_body(channels=["wechat", "console"]), "template_missing"),
        (route_body(template_code="no_such_template"), "template_missing"),
        (route_body(template_code="monthly_minimum_alert"), "template_purpose_mismatch"),
        (route_body(recipients=[]), "validation_failed"),
        (route_body(recipients=["cadre", "cadre"]), "validation_failed"),
        (route_body(recipients=["mayor"]), "validation_failed"),
        (route_body(channels=[]), "validation_failed"),
        (route_body(channels=["sms", "sms"]), "validation_failed"),
        (route_body(channels=["email"]), "validation_failed"),
        (route_body(template_code="Absence Alert"), "validation_failed"),
        ({**route_body(), "priority": "high"}, "validation_failed"),
        ({"event_type": ABSENCE}, "validation_failed"),
    ]

    created = [await notify.post(ALERT_ROUTES, json=body) for body, _ in cases]
    replaced = [await notify.put(f"{ALERT_ROUTES}/{seeded['id']}", json=body) for body, _ in cases]

    expected = [(422, code) for _, code in cases]
    for answers in (created, replaced):
        assert [(a.status_code, a.json()["code"]) for a in answers] == expected, [
            a.text for a in answers
        ]
        assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
        assert all(a.json().get("errors") for a in answers)
    known = created[0].json()["errors"][0]["message"]
    assert all(event_type in known for event_type in SUBJECTS)
    assert await routes(notify, event_type=ABSENCE) == [seeded]
    assert await count_rows(notify_db, "alert_route") == len(SUBJECTS)
    assert await count_rows(notify_db, "audit_entry") == 0


async def test_only_route_managers_see_or_change_routes(notify, notify_db, issuer):
    township = issuer.headers("township_officer", region_code="511529100000")
    [seeded] = await routes(notify, event_type=ABSENCE)
    path = f"{ALERT_ROUTES}/{seeded['id']}"

    answers = [
        await notify.get(ALERT_ROUTES, headers=township),
        await notify.post(ALERT_ROUTES, json=route_body(), headers=township),
        await notify.put(path, json=route_set(seeded, enabled=False), headers=township),
        await notify.delete(path, headers=township),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(403, "permission_denied")] * 4
    assert await routes(notify, event_type=ABSENCE) == [seeded]
