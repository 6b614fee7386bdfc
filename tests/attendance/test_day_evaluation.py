"""The daily and monthly evaluation: unexplained absences alerted to whoever answers for the
cadre once the county's threshold is reached (across a month end, never for approved leave),
the month's minimum, and each period evaluated once however many replicas run the job."""

import asyncio
from datetime import date, timedelta
from uuid import uuid4

import pytest

from services.attendance.days.jobs import DAILY, MONTHLY, YEARLY
from services.common.db import Database
from services.common.jobs import JobScheduler, Period
from tests.attendance.factories import (
    as_cadre,
    as_user,
    ask_leave,
    checkin_area_body,
    checkin_body,
    outbox_events,
    put_on_team,
)

ABSENCE = "attendance.absence.detected"
MINIMUM = "attendance.monthly_minimum.missed"


@pytest.fixture
async def scheduler(attendance_db):
    db = Database(attendance_db, pool_size=2)
    yield JobScheduler(db, [DAILY, MONTHLY])
    await db.dispose()


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


async def check_in_on(
    client, issuer, cadre_id: str, on: list[date], region_code: str = "511529100201"
) -> None:
    """The cadre's morning check-ins on those days in their village, sent as one batch."""
    items = [
        checkin_body(
            cadre_id=cadre_id,
            region_code=region_code,
            client_time=f"{day.isoformat()}T08:00:00+08:00",
        )
        for day in on
    ]
    for start in range(0, len(items), 200):
        batch = {"items": items[start : start + 200]}
        sent = await client.post(
            "/api/v1/attendance/checkins/batch", json=batch, headers=as_cadre(issuer, items[0])
        )
        assert {r["status"] for r in sent.json()["results"]} == {201}


async def evaluate_days(scheduler: JobScheduler, on: list[date]) -> None:
    for day in on:
        assert await scheduler.run_once(DAILY, Period.containing("day", day))


async def test_three_unexplained_days_alert_the_contact_leader_and_the_unit_then_every_three(
    attendance, attendance_db, issuer, scheduler
):
    leader = str(uuid4())
    secretary = await put_on_team(
        attendance,
        role="first_secretary",
        contact_leader_id=leader,
        unit_name="屏山县农业农村局",
        unit_code="511529-NY",
        term_start="2026-11-01",
    )
    await check_in_on(attendance, issuer, secretary["cadre_id"], days("2026-11-01", "2026-11-02"))

    await evaluate_days(scheduler, days("2026-11-01", "2026-11-09"))

    alerts = await outbox_events(attendance_db, ABSENCE)
    assert [(a["data"]["first_day"], a["data"]["last_day"], a["data"]["days"]) for a in alerts] == [
        ("2026-11-03", "2026-11-05", 3),
        ("2026-11-03", "2026-11-08", 6),
    ]
    first = alerts[0]
    assert first["subject"] == secretary["cadre_id"]
    assert first["regioncode"] == "511529100201"
    assert {k: first["data"][k] for k in ("cadre_id", "team_role", "contact_leader_id")} == {
        "cadre_id": secretary["cadre_id"],
        "team_role": "first_secretary",
        "contact_leader_id": leader,
    }
    assert (first["data"]["unit_name"], first["data"]["unit_code"]) == (
        "屏山县农业农村局",
        "511529-NY",
    )
    listed = await attendance.get(
        "/api/v1/attendance/cadre-days",
        params={"cadre_id": secretary["cadre_id"], "from": "2026-11-01", "to": "2026-11-09"},
    )
    assert [d["status"] for d in listed.json()["items"]] == ["present"] * 2 + ["absent"] * 7


async def test_a_members_absence_names_the_branch_secretary_and_runs_across_a_month_end(
    attendance, attendance_db, issuer, scheduler
):
    branch_secretary = str(uuid4())
    member = await put_on_team(
        attendance, role="member", branch_secretary_id=branch_secretary, term_start="2026-10-01"
    )
    await check_in_on(attendance, issuer, member["cadre_id"], days("2026-10-28", "2026-10-29"))

    await evaluate_days(scheduler, days("2026-10-28", "2026-11-02"))

    [alert] = await outbox_events(attendance_db, ABSENCE)
    assert (alert["data"]["first_day"], alert["data"]["last_day"]) == ("2026-10-30", "2026-11-01")
    assert alert["data"]["branch_secretary_id"] == branch_secretary
    assert alert["data"]["contact_leader_id"] is None


async def test_approved_leave_is_no_absence_and_the_countys_threshold_is_its_own(
    attendance, attendance_db, issuer, scheduler
):
    rule = await attendance.put(
        "/api/v1/attendance/rules/511529000000", json={"absence_alert_days": 2}
    )
    assert rule.status_code == 200
    on_leave = await put_on_team(attendance, term_start="2026-11-01")
    gone = await put_on_team(attendance, term_start="2026-11-01")
    leave = await ask_leave(
        attendance, issuer, on_leave, first_day="2026-11-02", last_day="2026-11-05"
    )
    officer = as_user(issuer, "township_officer", str(uuid4()), "511529100000")
    approved = await attendance.post(
        f"/api/v1/attendance/leave-requests/{leave.json()['id']}/approve", headers=officer
    )
    assert approved.status_code == 200
    for cadre in (on_leave, gone):
        await check_in_on(attendance, issuer, cadre["cadre_id"], [date(2026, 11, 1)])

    await evaluate_days(scheduler, days("2026-11-01", "2026-11-05"))

    alerts = await outbox_events(attendance_db, ABSENCE)
    assert [(a["data"]["cadre_id"], a["data"]["days"]) for a in alerts] == [
        (gone["cadre_id"], 2),
        (gone["cadre_id"], 4),
    ]


async def test_two_replicas_evaluating_a_day_at_once_alert_once(
    attendance, attendance_db, issuer, scheduler
):
    await put_on_team(attendance, term_start="2026-11-01")
    await evaluate_days(scheduler, days("2026-11-01", "2026-11-02"))
    second = Database(attendance_db, pool_size=2)
    replicas = [scheduler, JobScheduler(second, [DAILY, MONTHLY])]
    try:
        ran = await asyncio.gather(
            *(r.run_once(DAILY, Period.containing("day", date(2026, 11, 3))) for r in replicas)
        )
    finally:
        await second.dispose()

    assert sorted(ran) == [False, True]
    assert len(await outbox_events(attendance_db, ABSENCE)) == 1


async def test_the_month_names_the_cadres_below_the_minimum_of_their_term(
    attendance, attendance_db, issuer, scheduler
):
    assert (
        await attendance.post("/api/v1/attendance/checkin-areas", json=checkin_area_body())
    ).is_success
    twenty = await put_on_team(attendance, term_start="2026-10-01")
    nineteen = await put_on_team(attendance, term_start="2026-10-01")
    arrived_mid_month = await put_on_team(attendance, term_start="2026-11-16")
    await check_in_on(attendance, issuer, twenty["cadre_id"], days("2026-11-01", "2026-11-20"))
    await check_in_on(attendance, issuer, nineteen["cadre_id"], days("2026-11-01", "2026-11-19"))
    await check_in_on(
        attendance, issuer, arrived_mid_month["cadre_id"], days("2026-11-16", "2026-11-25")
    )

    await evaluate_days(scheduler, days("2026-11-01", "2026-11-30"))
    assert await scheduler.run_once(MONTHLY, Period.containing("month", date(2026, 11, 1)))

    [short] = await outbox_events(attendance_db, MINIMUM)
    assert short["data"]["cadre_id"] == nineteen["cadre_id"]
    assert (short["data"]["month"], short["data"]["counted"], short["data"]["required"]) == (
        "2026-11",
        19,
        20,
    )


async def test_where_the_county_sets_a_yearly_minimum_the_year_names_the_cadres_below_it(
    attendance, attendance_db, issuer, scheduler
):
    rule = {"min_days_per_year": 240}  # about two thirds of the year
    assert (await attendance.put("/api/v1/attendance/rules/511529000000", json=rule)).is_success
    # Arrived on 1 December: owes 240 x 31/365, rounded up, of the year's 240 days.
    enough = await put_on_team(attendance, term_start="2025-12-01")
    short = await put_on_team(attendance, term_start="2025-12-01")
    await check_in_on(attendance, issuer, enough["cadre_id"], days("2025-12-01", "2025-12-21"))
    await check_in_on(attendance, issuer, short["cadre_id"], days("2025-12-01", "2025-12-20"))

    assert await scheduler.run_once(YEARLY, Period.containing("year", date(2025, 6, 1)))

    [below] = await outbox_events(attendance_db, "attendance.yearly_minimum.missed")
    assert below["data"]["cadre_id"] == short["cadre_id"]
    assert (below["data"]["year"], below["data"]["counted"], below["data"]["required"]) == (
        "2025",
        20,
        21,
    )


async def test_days_before_the_read_model_had_the_cadre_are_owed_nothing(
    attendance, attendance_db, issuer, scheduler
):
    """The service (or the county's roster) came on 20 November, to teams that began in
    January: November owes its share from the 20th, not twenty days nobody recorded."""
    present = await put_on_team(attendance, term_start="2026-01-01")
    away = await put_on_team(attendance, term_start="2026-01-01")
    await check_in_on(attendance, issuer, present["cadre_id"], days("2026-11-20", "2026-11-30"))

    await evaluate_days(scheduler, days("2026-11-20", "2026-11-30"))
    assert await scheduler.run_once(MONTHLY, Period.containing("month", date(2026, 11, 1)))

    [short] = await outbox_events(attendance_db, MINIMUM)
    assert short["data"]["cadre_id"] == away["cadre_id"]
    assert (short["data"]["counted"], short["data"]["required"]) == (0, 8)  # 20 x 11/30


async def test_a_county_that_waits_for_offline_phones_alerts_a_day_later_and_only_the_gone(
    attendance, attendance_db, issuer, scheduler
):
    rule = {"absence_alert_delay_days": 1}
    assert (await attendance.put("/api/v1/attendance/rules/511529000000", json=rule)).is_success
    gone = await put_on_team(attendance, term_start="2026-11-01")
    offline = await put_on_team(attendance, term_start="2026-11-01")
    for cadre in (gone, offline):
        await check_in_on(attendance, issuer, cadre["cadre_id"], days("2026-11-01", "2026-11-02"))

    await evaluate_days(scheduler, days("2026-11-01", "2026-11-05"))
    waited = await outbox_events(attendance_db, ABSENCE)
    # The offline phone finds signal on the 6th and sends its queue before the day's run.
    await check_in_on(attendance, issuer, offline["cadre_id"], days("2026-11-03", "2026-11-05"))
    await evaluate_days(scheduler, days("2026-11-06", "2026-11-06"))

    assert waited == []  # with no wait, both would have been alerted on the 5th
    [alert] = await outbox_events(attendance_db, ABSENCE)
    assert alert["data"]["cadre_id"] == gone["cadre_id"]
    assert (alert["data"]["first_day"], alert["data"]["last_day"]) == ("2026-11-03", "2026-11-05")
