import json
from uuid import UUID, uuid4

import asyncpg

from services.common.db import plain_url
from services.common.testing import count_rows
from tests.attendance.factories import checkin_body, post_checkin


async def outbox_events(url: str) -> list[dict]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch("SELECT payload FROM outbox ORDER BY created_at")
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


async def test_a_checkin_is_stored_with_its_event_in_one_go(attendance, attendance_db, issuer):
    body = checkin_body()
    response = await post_checkin(attendance, issuer, body)

    assert response.status_code == 201
    checkin = response.json()
    assert response.headers["location"] == f"/api/v1/attendance/checkins/{checkin['id']}"
    assert UUID(checkin["id"]).version == 7
    assert checkin["cadre_id"] == body["cadre_id"]
    assert checkin["region_code"] == "511529100201"
    assert checkin["client_time"].startswith("2026-11-23T00:05:00")
    fetched = await attendance.get(response.headers["location"])
    assert fetched.json() == checkin

    [event] = await outbox_events(attendance_db)
    assert event["specversion"] == "1.0"
    assert event["type"] == "attendance.checkin.recorded"
    assert event["subject"] == checkin["id"]
    assert event["regioncode"] == "511529100201"
    assert event["dataschema"] == "urn:zhucun:event:attendance.checkin.recorded:v1"
    assert event["data"]["checkin_id"] == checkin["id"]
    assert event["correlationid"] == response.headers["x-request-id"]


async def test_the_same_client_id_twice_stores_one_checkin(attendance, attendance_db, issuer):
    body = checkin_body()
    first = await post_checkin(attendance, issuer, body)
    again = await post_checkin(attendance, issuer, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await count_rows(attendance_db, "checkin") == 1
    assert await count_rows(attendance_db, "outbox") == 1


async def test_a_client_id_reused_for_another_checkin_is_a_conflict(
    attendance, attendance_db, issuer
):
    body = checkin_body()
    await post_checkin(attendance, issuer, body)
    other = await post_checkin(attendance, issuer, {**body, "latitude": 30.1})

    assert other.status_code == 409
    assert other.json()["code"] == "client_id_reused"
    assert await count_rows(attendance_db, "checkin") == 1


async def test_an_unknown_checkin_is_404_problem(attendance):
    response = await attendance.get(f"/api/v1/attendance/checkins/{uuid4()}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "checkin_not_found"


async def test_lists_page_through_every_checkin_once(attendance, issuer):
    cadre = str(uuid4())
    for _ in range(5):
        await post_checkin(attendance, issuer, checkin_body(cadre_id=cadre))
    await post_checkin(attendance, issuer, checkin_body())  # someone else

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "cadre_id": cadre, **({"cursor": cursor} if cursor else {})}
        page = (await attendance.get("/api/v1/attendance/checkins", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)  # newest first: UUIDv7 follows recorded_at


async def test_a_bad_cursor_or_sort_is_a_clear_422(attendance):
    bad_cursor = await attendance.get("/api/v1/attendance/checkins", params={"cursor": "xyz"})
    bad_sort = await attendance.get("/api/v1/attendance/checkins", params={"sort": "password"})
    too_many = await attendance.get("/api/v1/attendance/checkins", params={"limit": 501})

    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["code"] == "invalid_cursor"
    assert bad_sort.status_code == 422
    assert bad_sort.json()["code"] == "invalid_sort"
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "limit"


async def test_a_cadre_checks_in_for_themselves_in_their_own_region(attendance, issuer):
    body = checkin_body(region_code="511529100201")
    village_secretary = issuer.headers(
        "first_secretary", region_code="511529100201", user_id=UUID(body["cadre_id"])
    )
    url = "/api/v1/attendance/checkins"

    anonymous = await attendance.post(url, json=body, headers={"Authorization": ""})
    viewer = await attendance.post(url, json=body, headers=issuer.headers("viewer"))
    for_another = await attendance.post(
        url, json=checkin_body(region_code="511529100201"), headers=village_secretary
    )
    elsewhere = await attendance.post(
        url, json={**body, "region_code": "511529101201"}, headers=village_secretary
    )
    own = await attendance.post(url, json=body, headers=village_secretary)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
    assert (viewer.status_code, viewer.json()["code"]) == (403, "permission_denied")
    assert (for_another.status_code, for_another.json()["code"]) == (403, "checkin_for_another")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "outside_scope")
    assert own.status_code == 201


async def test_another_villages_checkin_is_not_found_for_a_village_cadre(attendance, issuer):
    theirs = (
        await post_checkin(attendance, issuer, checkin_body(region_code="511529101201"))
    ).json()
    neighbour = issuer.headers("team_member", region_code="511529100201")

    direct = await attendance.get(f"/api/v1/attendance/checkins/{theirs['id']}", headers=neighbour)
    listed = await attendance.get("/api/v1/attendance/checkins", headers=neighbour)
    county = await attendance.get(f"/api/v1/attendance/checkins/{theirs['id']}")

    assert (direct.status_code, direct.json()["code"]) == (404, "checkin_not_found")
    assert listed.json()["items"] == []
    assert county.status_code == 200


async def test_where_a_cadre_was_is_sent_only_to_those_responsible_for_them(attendance, issuer):
    stored = (await post_checkin(attendance, issuer)).json()
    path = f"/api/v1/attendance/checkins/{stored['id']}"

    seen = {
        role: (await attendance.get(path, headers=issuer.headers(role))).json()
        for role in ("township_officer", "contact_leader", "viewer", "integration")
    }
    listed = await attendance.get("/api/v1/attendance/checkins", headers=issuer.headers("viewer"))

    for role in ("township_officer", "contact_leader"):
        assert (seen[role]["latitude"], seen[role]["longitude"]) == (28.64, 104.16)
    for role in ("viewer", "integration"):  # they count days; a cadre's position is the cadre's
        assert "latitude" not in seen[role] and "accuracy_m" not in seen[role]
        assert seen[role]["client_time"] == stored["client_time"]
    [item] = listed.json()["items"]
    assert "longitude" not in item and item["id"] == stored["id"]
