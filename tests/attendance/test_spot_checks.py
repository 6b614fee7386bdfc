"""明察暗访: a spot check names who was not found without approved leave, training or a trip
that day (the county's day), with whom to alert; only the village's team of that day may be
named; a resend is no repeat; everything within the caller's region."""

import asyncio
from datetime import date
from uuid import uuid4

import pytest

from services.common.testing import count_rows
from tests.attendance.factories import (
    approved_leave,
    jpeg_photo,
    outbox_events,
    put_on_team,
    spot_check_body,
    upload_photo,
)

URL = "/api/v1/attendance/spot-checks"
VILLAGE = "511529100201"  # 锦屏一村, township 511529100
NEIGHBOUR = "511529100202"  # the same township


async def test_a_spot_check_names_who_was_absent_without_leave_and_whom_to_alert(
    attendance, attendance_db, issuer
):
    leader, branch_secretary = str(uuid4()), str(uuid4())
    secretary = await put_on_team(
        attendance, role="first_secretary", contact_leader_id=leader, unit_code="11511529MB0"
    )
    present = await put_on_team(attendance, branch_secretary_id=branch_secretary)
    missing = await put_on_team(
        attendance, branch_secretary_id=branch_secretary, unit_name="县财政局"
    )
    on_leave = await put_on_team(attendance, branch_secretary_id=branch_secretary)
    # Approved for the 23rd, which the visit is in the county's time zone (the 22nd in UTC).
    leave_id = await approved_leave(
        attendance, issuer, on_leave, date(2026, 11, 23), date(2026, 11, 25)
    )
    inspector = uuid4()
    as_inspector = issuer.headers("inspector", user_id=inspector)
    uploaded = await upload_photo(attendance, jpeg_photo(), headers=as_inspector)
    assert uploaded.status_code == 201, uploaded.text
    body = spot_check_body(
        visited_at="2026-11-22T17:30:00+00:00",
        found=[present["cadre_id"]],
        not_found=[
            {"cadre_id": secretary["cadre_id"], "note": "村民说一周没见到"},
            {"cadre_id": missing["cadre_id"]},
            {"cadre_id": on_leave["cadre_id"]},
        ],
        photo_sha256=uploaded.json()["sha256"],
    )

    response = await attendance.post(URL, json=body, headers=as_inspector)

    assert response.status_code == 201, response.text
    check = response.json()
    assert response.headers["location"] == f"{URL}/{check['id']}"
    assert (await attendance.get(response.headers["location"])).json() == check
    assert (check["visit_day"], check["inspector_id"]) == ("2026-11-23", str(inspector))
    assert [c["cadre_id"] for c in check["found"]] == [present["cadre_id"]]
    excuses = {
        c["cadre_id"]: (c["absence_kind"], c["leave_request_id"]) for c in check["not_found"]
    }
    assert excuses == {
        secretary["cadre_id"]: (None, None),
        missing["cadre_id"]: (None, None),
        on_leave["cadre_id"]: ("leave", str(leave_id)),
    }
    [event] = await outbox_events(attendance_db, "attendance.spotcheck.recorded")
    assert (event["subject"], event["regioncode"]) == (check["id"], VILLAGE)
    data = event["data"]
    assert (data["spot_check_id"], data["visit_day"], data["found"]) == (
        check["id"],
        "2026-11-23",
        [present["cadre_id"]],
    )
    assert sorted(data["absent"], key=lambda a: a["role"]) == [
        {
            "cadre_id": secretary["cadre_id"],
            "member_id": secretary["id"],
            "role": "first_secretary",
            "unit_name": "平山县农业农村局",
            "unit_code": "11511529MB0",
            "contact_leader_id": leader,
            "branch_secretary_id": None,
            "note": "村民说一周没见到",
        },
        {
            "cadre_id": missing["cadre_id"],
            "member_id": missing["id"],
            "role": "member",
            "unit_name": "县财政局",
            "unit_code": None,
            "contact_leader_id": None,
            "branch_secretary_id": branch_secretary,
            "note": None,
        },
    ]
    assert data["excused"] == [
        {"cadre_id": on_leave["cadre_id"], "kind": "leave", "leave_request_id": str(leave_id)}
    ]
    audited = "action = 'attendance.spotcheck.recorded' AND target = $1 AND region_code = $2"
    assert await count_rows(attendance_db, "audit_entry", audited, check["id"], VILLAGE) == 1


async def test_a_resent_spot_check_is_the_stored_one_and_tells_nobody_twice(
    attendance, attendance_db
):
    member = await put_on_team(attendance)
    body = spot_check_body(not_found=[{"cadre_id": member["cadre_id"]}])
    first = await attendance.post(URL, json=body)

    again = await attendance.post(URL, json=body)
    reused = await attendance.post(URL, json={**body, "notes": "另一次暗访"})
    resent_at_once = {**body, "client_id": str(uuid4())}  # a phone retrying on a bad line
    at_once = await asyncio.gather(*(attendance.post(URL, json=resent_at_once) for _ in range(3)))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert sorted(a.status_code for a in at_once) == [200, 200, 201]
    assert reused.status_code == 409
    assert reused.json()["code"] == "client_id_reused"
    assert await count_rows(attendance_db, "spot_check") == 2
    assert len(await outbox_events(attendance_db, "attendance.spotcheck.recorded")) == 2


async def test_cadres_not_on_the_villages_team_that_day_are_named_and_nothing_is_stored(
    attendance, attendance_db
):
    member = await put_on_team(attendance)
    neighbours = await put_on_team(attendance, region_code=NEIGHBOUR)
    gone = await put_on_team(attendance, term_start="2026-01-01", term_end="2026-10-31")
    stranger = str(uuid4())
    body = spot_check_body(
        found=[member["cadre_id"], neighbours["cadre_id"]],
        not_found=[{"cadre_id": gone["cadre_id"]}, {"cadre_id": stranger}],
    )

    response = await attendance.post(URL, json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "not_on_team"
    assert [e["field"] for e in problem["errors"]] == [
        "found.1",
        "not_found.0.cadre_id",
        "not_found.1.cadre_id",
    ]
    assert all(c in problem["detail"] for c in (neighbours["cadre_id"], gone["cadre_id"], stranger))
    assert await count_rows(attendance_db, "spot_check") == 0
    assert await count_rows(attendance_db, "spot_check_cadre") == 0
    assert await count_rows(attendance_db, "outbox", "type = 'attendance.spotcheck.recorded'") == 0
    assert (
        await count_rows(attendance_db, "audit_entry", "action LIKE 'attendance.spotcheck%'") == 0
    )


BAD_URL = {
    "nobody named": (spot_check_body(), "validation_failed"),
    "found and not found": (
        spot_check_body(
            found=["0190a000-0000-7000-8000-000000000001"],
            not_found=[{"cadre_id": "0190a000-0000-7000-8000-000000000001"}],
        ),
        "validation_failed",
    ),
    "photo not lowercase hex": (
        spot_check_body(found=[str(uuid4())], photo_sha256="AB" * 32),
        "validation_failed",
    ),
    "photo too short": (
        spot_check_body(found=[str(uuid4())], photo_sha256="ab"),
        "validation_failed",
    ),
    "a township, not a village": (
        spot_check_body(found=[str(uuid4())], region_code="511529100000"),
        "validation_failed",
    ),
    "time without zone": (
        spot_check_body(found=[str(uuid4())], visited_at="2026-11-23T10:30:00"),
        "validation_failed",
    ),
    "unknown field": (spot_check_body(found=[str(uuid4())], score=100), "validation_failed"),
    "a visit yet to come": (
        spot_check_body(found=[str(uuid4())], visited_at="2099-01-01T10:00:00+08:00"),
        "visited_in_future",
    ),
}


@pytest.mark.parametrize("case", BAD_URL)
async def test_a_bad_spot_check_is_a_clear_422_and_stores_nothing(case, attendance, attendance_db):
    body, code = BAD_URL[case]
    response = await attendance.post(URL, json=body)

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert await count_rows(attendance_db, "spot_check") == 0
    assert await count_rows(attendance_db, "outbox") == 0


async def test_spot_checks_stay_within_the_callers_region(attendance, issuer):
    member = await put_on_team(attendance)
    ours = spot_check_body(found=[member["cadre_id"]])
    check = (await attendance.post(URL, json=ours)).json()
    other_officer = issuer.headers("township_officer", region_code="511529101000")
    own_officer = issuer.headers("township_officer", region_code="511529100000")

    read = await attendance.get(f"{URL}/{check['id']}", headers=other_officer)
    listed = await attendance.get(URL, headers=other_officer)
    write = await attendance.post(
        URL, json=spot_check_body(found=[member["cadre_id"]]), headers=other_officer
    )
    own = await attendance.get(URL, params={"cadre_id": member["cadre_id"]}, headers=own_officer)
    by_another = await attendance.get(URL, params={"cadre_id": str(uuid4())})

    assert read.status_code == 404
    assert read.json()["code"] == "spot_check_not_found"
    assert listed.json()["items"] == []
    assert write.status_code == 403
    assert write.json()["code"] == "outside_scope"
    assert [c["id"] for c in own.json()["items"]] == [check["id"]]
    assert by_another.json()["items"] == []


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("team_member", "POST", URL),
        ("contact_leader", "POST", URL),
        ("conduct_supervisor", "GET", URL),
        ("viewer", "GET", URL),
    ],
)
async def test_roles_without_the_permission_are_refused(role, method, path, attendance, issuer):
    response = await attendance.request(method, path, json={}, headers=issuer.headers(role))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


async def test_a_photo_the_spot_check_names_must_have_been_uploaded_in_the_village(
    attendance, attendance_db
):
    member = await put_on_team(attendance)
    elsewhere = await upload_photo(attendance, jpeg_photo(), region_code="511529101201")

    unknown = await attendance.post(
        URL, json=spot_check_body(found=[member["cadre_id"]], photo_sha256="ab" * 32)
    )
    other_village = await attendance.post(
        URL,
        json=spot_check_body(found=[member["cadre_id"]], photo_sha256=elsewhere.json()["sha256"]),
    )

    assert (unknown.status_code, unknown.json()["code"]) == (422, "photo_not_found")
    assert (other_village.status_code, other_village.json()["code"]) == (422, "photo_not_found")
    assert await count_rows(attendance_db, "spot_check") == 0
