"""Periodic jobs: once per period across replicas, missed periods caught up."""

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.common.db import Database
from services.common.jobs import Job, JobScheduler, Period
from services.common.testing import count_rows

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 1) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=TZ)


@pytest.fixture
async def db(attendance_db):
    database = Database(attendance_db, pool_size=4)
    yield database
    await database.dispose()


def replica(db: Database, job: Job, now: datetime) -> JobScheduler:
    return JobScheduler(db, [job], clock=lambda: now)


async def test_two_replicas_run_a_period_once(db, attendance_db):
    runs: list[str] = []

    async def evaluate(session, period: Period):
        runs.append(period.key)
        await asyncio.sleep(0.3)  # long enough for the other replica to try meanwhile
        return {"cadres": 3}

    job = Job("daily-evaluation", "day", evaluate)
    now = at("2026-11-23")
    one, two = replica(db, job, now), replica(db, job, now)
    yesterday = Period.containing("day", date(2026, 11, 22))

    results = await asyncio.gather(one.run_once(job, yesterday), two.run_once(job, yesterday))
    await asyncio.gather(one.tick(), two.tick())  # nothing left to do for either

    assert sorted(results) == [False, True]
    assert runs == ["2026-11-22"]
    assert (
        await count_rows(
            attendance_db, "job_run", "status = 'succeeded' AND outcome->>'cadres' = '3'"
        )
        == 1
    )


async def test_periods_missed_while_down_are_caught_up_in_order(db):
    runs: list[str] = []

    async def evaluate(session, period: Period):
        runs.append(period.key)

    job = Job("daily-evaluation", "day", evaluate)
    await replica(db, job, at("2026-11-20")).tick()  # ran for the 19th, then the service was down
    await replica(db, job, at("2026-11-23")).tick()

    assert runs == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]


async def test_a_first_start_runs_only_the_last_period(db):
    runs: list[str] = []

    async def summarise(session, period: Period):
        runs.append(period.key)

    job = Job("monthly-summary", "month", summarise)
    await replica(db, job, at("2026-11-23")).tick()
    await replica(db, job, at("2026-11-30", hour=23)).tick()  # November has not ended yet

    assert runs == ["2026-10"]


async def test_a_failed_run_is_recorded_and_retried(db, attendance_db):
    attempts: list[str] = []

    async def weekly(session, period: Period):
        attempts.append(period.key)
        if len(attempts) == 1:
            raise RuntimeError("database of the province not reachable")
        return {"ok": True}

    job = Job("weekly-notice", "week", weekly)
    scheduler = replica(db, job, at("2026-11-23"))
    await scheduler.tick()
    failed = await count_rows(
        attendance_db, "job_run", "status = 'failed' AND error LIKE '%province%'"
    )
    await scheduler.tick()

    assert failed == 1
    assert attempts == ["2026-W47", "2026-W47"]
    assert await count_rows(attendance_db, "job_run", "status = 'succeeded' AND attempts = 2") == 1


def test_periods_follow_the_calendar():
    assert Period.containing("week", date(2026, 11, 23)).start == date(2026, 11, 23)  # a Monday
    assert Period.containing("week", date(2026, 11, 22)).key == "2026-W47"
    assert Period.containing("month", date(2026, 12, 31)).end == date(2027, 1, 1)
    assert Period.containing("day", date(2026, 3, 1)).previous().key == "2026-02-28"


async def test_a_failure_then_a_retry_by_the_other_replica_leaves_the_period_done(
    db, attendance_db
):
    runs: list[str] = []

    async def flaky(session, period: Period):
        runs.append(period.key)
        await asyncio.sleep(0.3)  # the other replica is waiting on the claim meanwhile
        if len(runs) == 1:
            raise RuntimeError("first try fails")

    job = Job("daily-evaluation", "day", flaky)
    now = at("2026-11-23")
    yesterday = Period.containing("day", date(2026, 11, 22))
    one, two = replica(db, job, now), replica(db, job, now)

    results = await asyncio.gather(one.run_once(job, yesterday), two.run_once(job, yesterday))
    later = [await one.run_once(job, yesterday), await two.run_once(job, yesterday)]

    assert sorted(results) == [False, True]  # one failed; the waiting one retried it, once
    assert later == [False, False]  # and the period stays done
    assert runs == ["2026-11-22", "2026-11-22"]
    assert await count_rows(attendance_db, "job_run", "status = 'succeeded' AND attempts = 2") == 1
