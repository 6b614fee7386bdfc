import json
from uuid import UUID, uuid4

import asyncpg

from services.common.db import plain_url
from services.common.testing import count_rows
from tests.attendance.factories import checkin_body


async def outbox_events(url: str) -> list[dict]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch("SELECT payload FROM outbox ORDER BY created_at")
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


async def test_a_checkin_is_stored_with_its_event_in_one_go(attendance, attendance_db):
    body = checkin_body()
    response = await attendance.post("/api/v1/attendance/checkins", json=body)

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


async def test_the_same_client_id_twice_stores_one_checkin(attendance, attendance_db):
    body = checkin_body()
    first = await attendance.post("/api/v1/attendance/checkins", json=body)
    again = await attendance.post("/api/v1/attendance/checkins", json=body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await count_rows(attendance_db, "checkin") == 1
    assert await count_rows(attendance_db, "outbox") == 1


async def test_a_client_id_reused_for_another_checkin_is_a_conflict(attendance, attendance_db):
    body = checkin_body()
    await attendance.post("/api/v1/attendance/checkins", json=body)
    other = await attendance.post("/api/v1/attendance/checkins", json={**body, "latitude": 30.1})

    assert other.status_code == 409
    assert other.json()["code"] == "client_id_reused"
    assert await count_rows(attendance_db, "checkin") == 1


async def test_an_unknown_checkin_is_404_problem(attendance):
    response = await attendance.get(f"/api/v1/attendance/checkins/{uuid4()}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "checkin_not_found"


async def test_lists_page_through_every_checkin_once(attendance):
    cadre = str(uuid4())
    for _ in range(5):
        await attendance.post("/api/v1/attendance/checkins", json=checkin_body(cadre_id=cadre))
    await attendance.post("/api/v1/attendance/checkins", json=checkin_body())  # someone else

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
