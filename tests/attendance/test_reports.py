"""Attendance reports: a period's days per cadre, team and township and county, ranked, as
JSON pages and as CSV and XLSX files with Chinese headers, within the reader's region."""

import csv
import io
from datetime import date, timedelta
from uuid import uuid4

import openpyxl
import pytest

from services.attendance.days.jobs import DAILY
from services.common.db import Database
from services.common.jobs import JobScheduler, Period
from tests.attendance.factories import (
    approved_leave,
    as_user,
    ask_leave,
    checkin_body,
    post_checkin,
    put_on_team,
    spot_check_body,
)
from tests.attendance.test_day_evaluation import check_in_on, days

CADRES = "/api/v1/attendance/reports/cadres"
REGIONS = "/api/v1/attendance/reports/regions"
PERIOD = {"from": "2026-11-01", "to": "2026-11-10"}
VILLAGE_A = "511529100201"
VILLAGE_B = "511529101201"  # in another township


@pytest.fixture
async def county(attendance, attendance_db, issuer):
    """Ten days of November: a diligent cadre, one with three days of approved leave, one
    often away (a mock-location check-in among them), and one in another township."""
    diligent = await put_on_team(attendance, region_code=VILLAGE_A, term_start="2026-11-01")
    on_leave = await put_on_team(attendance, region_code=VILLAGE_A, term_start="2026-11-01")
    away = await put_on_team(attendance, region_code=VILLAGE_A, term_start="2026-11-01")
    elsewhere = await put_on_team(attendance, region_code=VILLAGE_B, term_start="2026-11-01")
    await check_in_on(attendance, issuer, diligent["cadre_id"], days("2026-11-01", "2026-11-10"))
    await check_in_on(attendance, issuer, on_leave["cadre_id"], days("2026-11-01", "2026-11-07"))
    await check_in_on(attendance, issuer, away["cadre_id"], days("2026-11-01", "2026-11-04"))
    await check_in_on(
        attendance, issuer, elsewhere["cadre_id"], days("2026-11-01", "2026-11-05"), VILLAGE_B
    )
    mocked = checkin_body(
        cadre_id=away["cadre_id"], mock_location=True, client_time="2026-11-04T19:00:00+08:00"
    )
    assert (await post_checkin(attendance, issuer, mocked)).status_code == 201
    leave = await ask_leave(
        attendance, issuer, on_leave, first_day="2026-11-08", last_day="2026-11-10"
    )
    officer = as_user(issuer, "township_officer", str(uuid4()), "511529100000")
    assert (
        await attendance.post(
            f"/api/v1/attendance/leave-requests/{leave.json()['id']}/approve", headers=officer
        )
    ).status_code == 200
    visit = spot_check_body(
        visited_at="2026-11-05T10:00:00+08:00",
        found=[diligent["cadre_id"]],
        not_found=[{"cadre_id": away["cadre_id"], "note": "村委会无人"}],
    )
    checked = await attendance.post("/api/v1/attendance/spot-checks", json=visit)
    assert checked.status_code == 201, checked.text
    db = Database(attendance_db, pool_size=1)
    scheduler = JobScheduler(db, [DAILY])
    for day in days("2026-11-01", "2026-11-10"):
        await scheduler.run_once(DAILY, Period.containing("day", day))
    await db.dispose()
    return {"diligent": diligent, "on_leave": on_leave, "away": away, "elsewhere": elsewhere}


def counts(row: dict) -> tuple:
    return tuple(row[k] for k in ("present", "leave", "absent", "counted", "attendance_rate"))


async def test_each_cadres_period_ranked_by_days_counted(attendance, county):
    response = await attendance.get(CADRES, params=PERIOD)

    assert response.status_code == 200, response.text
    rows = {row["cadre_id"]: row for row in response.json()["items"]}
    assert counts(rows[county["diligent"]["cadre_id"]]) == (10, 0, 0, 10, 1.0)
    assert counts(rows[county["on_leave"]["cadre_id"]]) == (7, 3, 0, 7, 0.7)  # leave not counted
    assert counts(rows[county["elsewhere"]["cadre_id"]]) == (5, 0, 5, 5, 0.5)
    assert counts(rows[county["away"]["cadre_id"]]) == (4, 0, 6, 4, 0.4)
    assert rows[county["away"]["cadre_id"]]["flagged_checkins"] == 1
    spot_checks = {
        name: (
            rows[county[name]["cadre_id"]]["spot_checks_found"],
            rows[county[name]["cadre_id"]]["spot_checks_missed"],
        )
        for name in ("diligent", "away", "on_leave")
    }
    assert spot_checks == {"diligent": (1, 0), "away": (0, 1), "on_leave": (0, 0)}
    assert [row["rank"] for row in response.json()["items"]] == [1, 2, 3, 4]
    assert response.json()["items"][0]["cadre_id"] == county["diligent"]["cadre_id"]


async def test_the_countys_rule_decides_what_counts(attendance, county):
    rule = {"counted": ["leave", "training", "trip"]}
    assert (await attendance.put("/api/v1/attendance/rules/511529000000", json=rule)).is_success

    response = await attendance.get(CADRES, params=PERIOD)

    rows = {row["cadre_id"]: row for row in response.json()["items"]}
    assert rows[county["on_leave"]["cadre_id"]]["counted"] == 10
    assert rows[county["on_leave"]["cadre_id"]]["rank"] == 1  # tied with the diligent one


async def test_teams_townships_and_the_county(attendance, county):
    teams = await attendance.get(REGIONS, params={**PERIOD, "level": "team"})
    townships = await attendance.get(REGIONS, params={**PERIOD, "level": "township"})
    whole = await attendance.get(REGIONS, params={**PERIOD, "level": "county"})

    assert [
        (r["region_code"], r["cadres"], r["days"], r["counted"]) for r in teams.json()["items"]
    ] == [
        (VILLAGE_A, 3, 30, 21),
        (VILLAGE_B, 1, 10, 5),
    ]
    assert [r["region_code"] for r in townships.json()["items"]] == ["511529100000", "511529101000"]
    assert [r["spot_checks_missed"] for r in townships.json()["items"]] == [1, 0]
    [county_row] = whole.json()["items"]
    assert (county_row["region_code"], county_row["cadres"], county_row["absent"]) == (
        "511529000000",
        4,
        11,
    )
    assert county_row["attendance_rate"] == pytest.approx(26 / 40)


async def test_a_township_reads_only_its_own_cadres(attendance, county, issuer):
    township = as_user(issuer, "township_officer", str(uuid4()), "511529100000")
    village = as_user(issuer, "first_secretary", str(uuid4()), VILLAGE_B)

    seen = await attendance.get(CADRES, params=PERIOD, headers=township)
    by_county = await attendance.get(REGIONS, params={**PERIOD, "level": "county"}, headers=village)
    narrowed = await attendance.get(CADRES, params={**PERIOD, "region_code": VILLAGE_B})

    assert len(seen.json()["items"]) == 3
    assert county["elsewhere"]["cadre_id"] not in {r["cadre_id"] for r in seen.json()["items"]}
    assert [r["cadres"] for r in by_county.json()["items"]] == [1]
    assert [r["cadre_id"] for r in narrowed.json()["items"]] == [county["elsewhere"]["cadre_id"]]


async def test_pages_follow_the_ranking(attendance, county):
    first = await attendance.get(CADRES, params={**PERIOD, "limit": 3})
    rest = await attendance.get(
        CADRES, params={**PERIOD, "limit": 3, "cursor": first.json()["next_cursor"]}
    )

    assert [r["rank"] for r in first.json()["items"]] == [1, 2, 3]
    assert [r["rank"] for r in rest.json()["items"]] == [4]
    assert rest.json()["next_cursor"] is None


async def test_csv_and_xlsx_carry_chinese_headers_and_every_row(attendance, county):
    as_csv = await attendance.get(CADRES, params={**PERIOD, "format": "csv"})
    as_xlsx = await attendance.get(REGIONS, params={**PERIOD, "level": "team", "format": "xlsx"})

    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["排名", "干部ID", "所在村代码", "记录天数", "在村天数"]
    assert table[1][1] == county["diligent"]["cadre_id"]
    assert len(table) == 5
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "区划代码", "干部人数")
    assert [(r[1], r[2]) for r in rows[1:]] == [(VILLAGE_A, 3), (VILLAGE_B, 1)]


async def test_a_report_of_no_period_or_level_is_refused(attendance):
    backwards = await attendance.get(CADRES, params={"from": "2026-11-10", "to": "2026-11-01"})
    no_level = await attendance.get(REGIONS, params=PERIOD)
    a_province = await attendance.get(REGIONS, params={**PERIOD, "level": "province"})
    sorted_otherwise = await attendance.get(CADRES, params={**PERIOD, "sort": "absent"})
    forged = await attendance.get(CADRES, params={**PERIOD, "cursor": "bm90IGEgY3Vyc29y"})

    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    assert no_level.status_code == a_province.status_code == 422
    assert (sorted_otherwise.status_code, sorted_otherwise.json()["code"]) == (422, "invalid_sort")
    assert (forged.status_code, forged.json()["code"]) == (422, "invalid_cursor")


async def test_days_ahead_are_in_no_report_yet(attendance, issuer):
    member = await put_on_team(attendance, term_start="2026-01-01", term_end=None)
    ahead = date.today() + timedelta(days=5)
    await approved_leave(attendance, issuer, member, ahead, ahead + timedelta(days=1))
    period = {"from": date.today().isoformat(), "to": (ahead + timedelta(days=9)).isoformat()}

    response = await attendance.get(CADRES, params=period)

    assert response.status_code == 200
    assert response.json()["items"] == []  # the approved leave's days have not come
