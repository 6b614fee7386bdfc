"""离线签到: a phone without signal queues check-ins and sends them later in one batch; each
item is answered on its own, and a batch resent after a timeout stores nothing twice."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from services.common.testing import count_rows
from tests.attendance.factories import checkin_body

URL = "/api/v1/attendance/checkins/batch"


def queued(cadre: UUID, mornings: int = 3) -> list[dict]:
    """What a phone queued over a few mornings in the village."""
    return [
        checkin_body(cadre_id=str(cadre), client_time=f"2026-11-{20 + day}T08:0{day}:00+08:00")
        for day in range(mornings)
    ]


def cadre_headers(issuer, cadre: UUID) -> dict[str, str]:
    return issuer.headers("first_secretary", region_code="511529100201", user_id=cadre)


async def test_a_queued_batch_is_stored_once_each_keeping_its_phone_time(
    attendance, attendance_db, issuer
):
    cadre = uuid4()
    items = queued(cadre)

    sent = await attendance.post(URL, json={"items": items}, headers=cadre_headers(issuer, cadre))
    resent = await attendance.post(URL, json={"items": items}, headers=cadre_headers(issuer, cadre))

    assert sent.status_code == 200
    assert [r["status"] for r in sent.json()["results"]] == [201, 201, 201]
    assert [r["status"] for r in resent.json()["results"]] == [200, 200, 200]
    first, again = sent.json()["results"][0], resent.json()["results"][0]
    assert first["checkin"]["id"] == again["checkin"]["id"]
    assert first["checkin"]["client_time"] == "2026-11-20T00:00:00Z"  # the phone's own time
    assert first["checkin"]["recorded_at"] > first["checkin"]["client_time"]  # and receipt
    assert await count_rows(attendance_db, "checkin") == 3
    assert await count_rows(attendance_db, "outbox") == 3
    assert await count_rows(attendance_db, "audit_entry") == 3


async def test_each_item_is_answered_on_its_own_and_a_bad_one_stores_nothing(
    attendance, attendance_db, issuer
):
    cadre = uuid4()
    good, reused = queued(cadre, mornings=2)
    await attendance.post(URL, json={"items": [reused]}, headers=cadre_headers(issuer, cadre))
    items = [
        good,
        checkin_body(),  # someone else's check-in
        {**good, "client_id": str(uuid4()), "latitude": "north"},
        {**reused, "latitude": 30.0},  # the same client_id, another check-in
        checkin_body(cadre_id=str(cadre), region_code="511529101201"),  # another village
    ]

    answer = await attendance.post(URL, json={"items": items}, headers=cadre_headers(issuer, cadre))

    results = answer.json()["results"]
    assert [(r["status"], (r["problem"] or {}).get("code")) for r in results] == [
        (201, None),
        (403, "checkin_for_another"),
        (422, "validation_failed"),
        (409, "client_id_reused"),
        (403, "outside_scope"),
    ]
    assert results[2]["problem"]["errors"][0]["field"] == "latitude"
    assert [r["client_id"] for r in results] == [item["client_id"] for item in items]
    assert await count_rows(attendance_db, "checkin") == 2  # the earlier one and `good`
    assert await count_rows(attendance_db, "outbox") == 2


async def test_an_empty_or_oversized_batch_is_refused_whole(attendance, attendance_db, issuer):
    cadre = uuid4()
    empty = await attendance.post(URL, json={"items": []}, headers=cadre_headers(issuer, cadre))
    many = await attendance.post(
        URL, json={"items": queued(cadre, 1) * 201}, headers=cadre_headers(issuer, cadre)
    )

    assert (empty.status_code, many.status_code) == (422, 422)
    assert await count_rows(attendance_db, "checkin") == 0


async def test_an_item_that_is_no_checkin_or_no_place_gets_its_own_422(
    attendance, attendance_db, issuer
):
    cadre = uuid4()
    [good] = queued(cadre, mornings=1)
    off_the_globe = checkin_body(
        cadre_id=str(cadre), latitude=90, longitude=0, coordinate_system="bd09"
    )

    answer = await attendance.post(
        URL, json={"items": [42, off_the_globe, good]}, headers=cadre_headers(issuer, cadre)
    )

    results = answer.json()["results"]
    assert [(r["status"], (r["problem"] or {}).get("code")) for r in results] == [
        (422, "validation_failed"),
        (422, "checkin_position_invalid"),
        (201, None),
    ]
    assert await count_rows(attendance_db, "checkin") == 1


async def test_a_phone_whose_clock_was_set_back_is_flagged_a_queue_sent_late_is_not(
    attendance, issuer
):
    """两头跑 made up afterwards: a phone set three days back, to check in for days it was
    away, says so when it sends; an honest phone that queued three days says the time now."""
    cadre = uuid4()
    now = datetime.now(UTC)
    honest = queued(cadre, mornings=2)
    made_up = [
        checkin_body(cadre_id=str(cadre), client_time=(now - timedelta(days=d)).isoformat())
        for d in (3, 4)
    ]
    headers = cadre_headers(issuer, cadre)

    sent_honestly = await attendance.post(
        URL, json={"items": honest, "sent_at": now.isoformat()}, headers=headers
    )
    sent_set_back = await attendance.post(
        URL,
        json={"items": made_up, "sent_at": (now - timedelta(days=3)).isoformat()},
        headers=headers,
    )
    resent = await attendance.post(
        URL,
        json={"items": honest, "sent_at": (now + timedelta(seconds=30)).isoformat()},
        headers=headers,
    )

    assert [r["checkin"]["flags"] for r in sent_honestly.json()["results"]] == [["no_area"]] * 2
    assert [r["checkin"]["flags"] for r in sent_set_back.json()["results"]] == [
        ["no_area", "clock_behind"]
    ] * 2
    assert [r["status"] for r in resent.json()["results"]] == [200, 200]  # sent again, later
