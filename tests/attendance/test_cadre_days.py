"""The day-status read model: each cadre's day as check-ins, reviews and leave arrive, by the
county's calendar day of the phone's time, counted once however often a batch is resent."""

from uuid import uuid4

from tests.attendance.factories import (
    as_cadre,
    as_user,
    ask_leave,
    checkin_area_body,
    checkin_body,
    post_checkin,
    put_on_team,
)

DAYS = "/api/v1/attendance/cadre-days"
TOWNSHIP = "511529100000"
FAR_AWAY = {"latitude": 28.70, "longitude": 104.30}  # some 15 km from the village's area


async def day_of(client, cadre_id: str, day: str) -> dict | None:
    response = await client.get(DAYS, params={"cadre_id": cadre_id, "from": day, "to": day})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


async def test_a_checkin_inside_the_area_makes_the_day_present_one_outside_does_not(
    attendance, issuer
):
    assert (
        await attendance.post("/api/v1/attendance/checkin-areas", json=checkin_area_body())
    ).is_success
    inside = checkin_body(client_time="2026-11-23T08:05:00+08:00")
    outside = checkin_body(client_time="2026-11-23T08:05:00+08:00", **FAR_AWAY)
    await post_checkin(attendance, issuer, inside)
    await post_checkin(attendance, issuer, outside)

    present = await day_of(attendance, inside["cadre_id"], "2026-11-23")
    away = await day_of(attendance, outside["cadre_id"], "2026-11-23")

    assert (present["status"], present["present_checkins"], present["flagged_checkins"]) == (
        "present",
        1,
        0,
    )
    assert (away["status"], away["present_checkins"], away["flagged_checkins"]) == ("absent", 0, 1)


async def test_a_flagged_checkin_counts_until_a_reviewer_rejects_it(attendance, issuer):
    body = checkin_body(mock_location=True)
    checkin = (await post_checkin(attendance, issuer, body)).json()
    review = f"/api/v1/attendance/checkins/{checkin['id']}/review"
    officer = as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)

    flagged = await day_of(attendance, body["cadre_id"], "2026-11-23")
    await attendance.post(
        review, json={"decision": "rejected", "note": "模拟定位"}, headers=officer
    )
    rejected = await day_of(attendance, body["cadre_id"], "2026-11-23")
    await attendance.post(
        review, json={"decision": "rejected", "note": "模拟定位"}, headers=officer
    )
    rejected_again = await day_of(attendance, body["cadre_id"], "2026-11-23")
    await attendance.post(review, json={"decision": "accepted"}, headers=officer)
    accepted = await day_of(attendance, body["cadre_id"], "2026-11-23")

    assert (flagged["status"], flagged["flagged_checkins"]) == ("present", 1)
    assert (rejected["status"], rejected["present_checkins"]) == ("absent", 0)
    assert rejected_again["present_checkins"] == 0
    assert (accepted["status"], accepted["present_checkins"]) == ("present", 1)


async def test_the_day_is_the_countys_calendar_day_of_the_phones_time(attendance, issuer):
    cadre = str(uuid4())
    late = checkin_body(cadre_id=cadre, client_time="2026-11-30T23:30:00+08:00")
    after_midnight = checkin_body(cadre_id=cadre, client_time="2026-11-30T16:30:00+00:00")
    for body in (late, after_midnight):
        assert (await post_checkin(attendance, issuer, body)).status_code == 201

    response = await attendance.get(
        DAYS, params={"cadre_id": cadre, "from": "2026-11-29", "to": "2026-12-02"}
    )

    assert [(d["day"], d["status"]) for d in response.json()["items"]] == [
        ("2026-11-30", "present"),
        ("2026-12-01", "present"),
    ]


async def test_a_batch_sent_twice_counts_each_checkin_once(attendance, issuer):
    cadre = str(uuid4())
    items = [
        checkin_body(cadre_id=cadre, client_time=f"2026-11-2{d}T0{h}:00:00+08:00", kind=kind)
        for d in (1, 2)
        for h, kind in ((8, "checkin"), (9, "checkout"))
    ]
    headers = as_cadre(issuer, items[0])
    for _ in range(2):
        sent = await attendance.post(
            "/api/v1/attendance/checkins/batch", json={"items": items}, headers=headers
        )
        assert sent.status_code == 200

    response = await attendance.get(
        DAYS, params={"cadre_id": cadre, "from": "2026-11-20", "to": "2026-11-23"}
    )

    assert [(d["day"], d["present_checkins"]) for d in response.json()["items"]] == [
        ("2026-11-21", 2),
        ("2026-11-22", 2),
    ]


async def test_a_checkin_on_a_day_of_approved_leave_makes_it_present(attendance, issuer):
    member = await put_on_team(attendance)
    leave = (await ask_leave(attendance, issuer, member)).json()  # 10 to 12 November
    officer = as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)
    await attendance.post(
        f"/api/v1/attendance/leave-requests/{leave['id']}/approve", headers=officer
    )
    came_back = checkin_body(cadre_id=member["cadre_id"], client_time="2026-11-12T18:00:00+08:00")
    await post_checkin(attendance, issuer, came_back)

    response = await attendance.get(
        DAYS, params={"cadre_id": member["cadre_id"], "from": "2026-11-10", "to": "2026-11-12"}
    )

    assert [d["status"] for d in response.json()["items"]] == ["leave", "leave", "present"]
    assert response.json()["items"][2]["absence_kind"] == "leave"


async def test_days_are_seen_within_ones_region_and_a_period_is_bounded(attendance, issuer):
    body = checkin_body()
    await post_checkin(attendance, issuer, body)
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    township = as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)
    other_township = as_user(issuer, "township_officer", str(uuid4()), "511529101000")

    seen = await attendance.get(DAYS, params=period, headers=township)
    unseen = await attendance.get(DAYS, params=period, headers=other_township)
    backwards = await attendance.get(DAYS, params={"from": "2026-11-30", "to": "2026-11-01"})
    too_long = await attendance.get(DAYS, params={"from": "2025-01-01", "to": "2026-11-30"})

    assert [d["cadre_id"] for d in seen.json()["items"]] == [body["cadre_id"]]
    assert unseen.json()["items"] == []
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    assert too_long.status_code == 422
