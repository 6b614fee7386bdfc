"""驻村风气监督员: a village's conduct supervisor reports on its team's presence and conduct,
naming only cadres on the team in that period; the village and the supervision roles above
it read the reports, nobody else."""

from uuid import uuid4

import pytest

from services.common.testing import count_rows
from tests.attendance.factories import conduct_report_body, outbox_events, put_on_team

URL = "/api/v1/attendance/conduct-reports"
VILLAGE = "511529100201"  # 锦屏一村, township 511529100
NEIGHBOUR = "511529100202"  # the same township


async def test_a_conduct_supervisor_reports_on_the_team_and_reads_what_the_village_filed(
    attendance, attendance_db, issuer
):
    member = await put_on_team(attendance)
    supervisor_id = uuid4()
    supervisor = issuer.headers("conduct_supervisor", region_code=VILLAGE, user_id=supervisor_id)
    concern = {"cadre_id": member["cadre_id"], "concern": "经常周五下午就回城"}
    body = conduct_report_body(presence="rarely", concerns=[concern])

    response = await attendance.post(URL, json=body, headers=supervisor)
    one_day = await attendance.post(
        URL,
        json=conduct_report_body(first_day="2026-12-01", last_day=None, presence="always"),
        headers=supervisor,
    )

    assert response.status_code == 201, response.text
    report = response.json()
    assert response.headers["location"] == f"{URL}/{report['id']}"
    assert (report["supervisor_id"], report["concerns"]) == (str(supervisor_id), [concern])
    assert (one_day.json()["first_day"], one_day.json()["last_day"]) == ("2026-12-01", "2026-12-01")
    assert (await attendance.get(response.headers["location"], headers=supervisor)).json() == report
    listed = await attendance.get(URL, params={"presence": "rarely"}, headers=supervisor)
    assert [r["id"] for r in listed.json()["items"]] == [report["id"]]
    [event, _] = await outbox_events(attendance_db, "attendance.conduct.reported")
    assert event["data"] == {
        "report_id": report["id"],
        "region_code": VILLAGE,
        "supervisor_id": str(supervisor_id),
        "first_day": "2026-11-01",
        "last_day": "2026-11-30",
        "presence": "rarely",
        "named_cadre_ids": [member["cadre_id"]],
    }
    assert (
        await count_rows(attendance_db, "audit_entry", "action = 'attendance.conduct.reported'")
        == 2
    )


async def test_a_conduct_report_names_only_the_team_and_only_its_own_village(
    attendance, attendance_db, issuer
):
    ended = await put_on_team(attendance, term_end="2026-10-31")
    supervisor = issuer.headers("conduct_supervisor", region_code=VILLAGE)
    naming_a_stranger = conduct_report_body(
        concerns=[{"cadre_id": ended["cadre_id"], "concern": "不在村"}]
    )

    stranger = await attendance.post(URL, json=naming_a_stranger, headers=supervisor)
    elsewhere = await attendance.post(
        URL, json=conduct_report_body(region_code=NEIGHBOUR), headers=supervisor
    )
    future = await attendance.post(
        URL,
        json=conduct_report_body(first_day="2099-01-01", last_day="2099-01-31"),
        headers=supervisor,
    )
    backwards = await attendance.post(
        URL, json=conduct_report_body(first_day="2026-11-30", last_day="2026-11-01")
    )

    assert (stranger.status_code, stranger.json()["code"]) == (422, "not_on_team")
    assert stranger.json()["errors"][0]["field"] == "concerns.0.cadre_id"
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "outside_scope")
    assert (future.status_code, future.json()["code"]) == (422, "period_in_future")
    assert (backwards.status_code, backwards.json()["code"]) == (422, "validation_failed")
    assert await count_rows(attendance_db, "conduct_report") == 0


async def test_conduct_reports_are_read_within_the_township(attendance, issuer):
    report = (await attendance.post(URL, json=conduct_report_body())).json()
    own = issuer.headers("township_officer", region_code="511529100000")
    other = issuer.headers("township_officer", region_code="511529101000")
    neighbours_supervisor = issuer.headers("conduct_supervisor", region_code=NEIGHBOUR)

    assert [r["id"] for r in (await attendance.get(URL, headers=own)).json()["items"]] == [
        report["id"]
    ]
    assert (await attendance.get(URL, headers=other)).json()["items"] == []
    assert (await attendance.get(f"{URL}/{report['id']}", headers=other)).status_code == 404
    hidden = await attendance.get(f"{URL}/{report['id']}", headers=neighbours_supervisor)
    assert hidden.json()["code"] == "conduct_report_not_found"


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("inspector", "POST", URL),
        ("township_officer", "POST", URL),
        ("first_secretary", "GET", URL),
        ("viewer", "GET", URL),
    ],
)
async def test_roles_without_the_permission_are_refused(role, method, path, attendance, issuer):
    response = await attendance.request(method, path, json={}, headers=issuer.headers(role))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
