"""Bad input gets a problem+json 4xx with a stable code, and stores nothing."""

import base64
import json

import pytest

from services.common.testing import count_rows
from tests.attendance.factories import checkin_body

URL = "/api/v1/attendance/checkins"
JSON = {"content-type": "application/json"}

CASES = {
    "wrong types": (
        json.dumps(checkin_body(latitude="north", cadre_id=42)), 422, "validation_failed"
    ),
    "missing fields": (json.dumps({"latitude": 28.6}), 422, "validation_failed"),
    "malformed json": ('{"client_id": "abc", ', 400, "malformed_json"),
    "not an object": ("[1, 2, 3]", 422, "validation_failed"),
    "unknown field": (json.dumps(checkin_body(is_admin=True)), 422, "validation_failed"),
    "time without zone": (
        json.dumps(checkin_body(client_time="2026-11-23T08:00:00")), 422, "validation_failed"
    ),
    "latitude off the globe": (json.dumps(checkin_body(latitude=91)), 422, "validation_failed"),
    "region code not 12 digits": (
        json.dumps(checkin_body(region_code="5115")), 422, "validation_failed"
    ),
    "oversized body": (
        json.dumps(checkin_body(device="x" * 2_000_000)), 413, "payload_too_large"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_is_a_clear_problem_and_stores_nothing(case, attendance, attendance_db):
    body, status, code = CASES[case]
    response = await attendance.post(URL, content=body, headers=JSON)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["detail"] and problem["title"]
    assert problem["request_id"] == response.headers["x-request-id"]
    assert await count_rows(attendance_db, "checkin") == 0
    assert await count_rows(attendance_db, "outbox") == 0


async def test_validation_errors_name_each_field(attendance):
    response = await attendance.post(URL, json=checkin_body(latitude="north", kind="nap"))

    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"latitude", "kind"}


async def test_a_streamed_body_over_the_limit_is_refused(attendance, attendance_db):
    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = await attendance.post(URL, content=chunks(), headers=JSON)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await count_rows(attendance_db, "checkin") == 0


async def test_unknown_routes_and_methods_are_problems_too(attendance):
    missing = await attendance.get("/api/v1/attendance/nothing-here")
    wrong_method = await attendance.delete(URL)

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")


async def test_a_client_time_centuries_off_is_refused(attendance, attendance_db):
    response = await attendance.post(
        URL, json=checkin_body(client_time="0001-01-01T00:00:00+08:00")
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "client_time"
    assert await count_rows(attendance_db, "checkin") == 0


@pytest.mark.parametrize(
    "values",
    [["0001-01-01T00:00:00+14:00", "01a2071b-1779-7707-b95c-f0d54a2f8eb8"], ["2026-11-23", 5]],
    ids=["date out of range", "id not a uuid"],
)
async def test_a_forged_cursor_is_a_422_not_a_crash(values, attendance):
    forged = base64.urlsafe_b64encode(json.dumps(["-recorded_at", values]).encode()).decode()

    response = await attendance.get(URL, params={"cursor": forged})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


# Odd values for the days, reports, leave and rule routes: each a 4xx problem, none a 500.
ODD_REQUESTS = [
    ("GET", "/api/v1/attendance/cadre-days?from=2026-02-30&to=2026-03-01"),
    ("GET", "/api/v1/attendance/cadre-days?from=2026-11-01&to=2026-11-30&status=gone"),
    ("GET", "/api/v1/attendance/cadre-days?from=2026-11-01&to=2026-11-30&sort=-cadre_id"),
    ("GET", "/api/v1/attendance/reports/cadres?from=2026-11-01&to=2026-11-30&format=pdf"),
    ("GET", "/api/v1/attendance/reports/cadres?from=2026-11-01&to=2026-11-30&cursor=%00"),
    (
        "GET",
        "/api/v1/attendance/reports/regions?from=2026-11-01&to=2026-11-30&level=team&cursor=WyJ0ZWFtIiwgW3RydWUsICJ0ZWFtIl1d",
    ),
    (
        "GET",
        "/api/v1/attendance/reports/regions?from=2026-11-01&to=2026-11-30&level=team&region_code=5a",
    ),
    (
        "GET",
        "/api/v1/attendance/reports/cadres?from=2026-11-01&to=2026-11-30&cursor=WyJjYWRyZSIsIFstMywgImNhZHJlIl1d",
    ),
    ("GET", "/api/v1/attendance/rules/51152900000x"),
    ("PUT", "/api/v1/attendance/rules/511529000000", {"min_days_per_month": "twenty"}),
    ("POST", "/api/v1/attendance/leave-requests", {"cadre_id": "x", "kind": "leave"}),
    ("POST", "/api/v1/attendance/leave-requests/not-an-id/approve", {}),
    ("GET", "/api/v1/attendance/leave-requests?on=tomorrow"),
]


@pytest.mark.parametrize("request_", ODD_REQUESTS, ids=lambda r: f"{r[0]} {r[1][:60]}")
async def test_odd_values_on_the_days_reports_and_leave_routes_are_problems(request_, attendance):
    method, path, *body = request_

    response = await attendance.request(method, path, json=body[0] if body else None)

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
