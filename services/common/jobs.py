"""Periodic jobs: each runs once per period (day, week, month, year) however many replicas run.

A run is claimed by inserting the (job, period) row in the job's own transaction; a second replica
blocks on that row and then sees it taken. A job runs for a period once the period has ended, in
the county's time zone, and catches up the periods it missed while the service was down (back to
its first recorded period, at most `catch_up` of them). Failures are recorded and retried.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database

log = logging.getLogger(__name__)

PeriodKind = Literal["day", "week", "month", "year"]


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # exclusive

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "year":
            return f"{self.start:%Y}"
        return f"{self.start:%Y-%m}"

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> "Period":
        if kind == "day":
            return cls(kind, day, day + timedelta(days=1))
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=7))
        if kind == "year":
            return cls(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return cls(kind, start, end)

    def previous(self) -> "Period":
        return Period.containing(self.kind, self.start - timedelta(days=1))


JobFunc = Callable[[AsyncSession, Period], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Job:
    """A periodic job: `run(session, period)` does the period's work and returns its outcome."""

    name: str
    period: PeriodKind
    run: JobFunc


_CLAIM = text(
    """
    INSERT INTO job_run (job_name, period, period_start, status, attempts, started_at)
    VALUES (:job, :period, :start, 'running', 1, now())
    ON CONFLICT (job_name, period) DO UPDATE
        SET status = 'running', attempts = job_run.attempts + 1, started_at = now(), error = NULL
        WHERE job_run.status = 'failed' AND job_run.attempts < :max_attempts
    RETURNING attempts
    """
)
_DONE = text(
    """
    UPDATE job_run SET status = 'succeeded', outcome = CAST(:outcome AS jsonb), finished_at = now()
    WHERE job_name = :job AND period = :period
    """
)
_FAILED = text(
    """
    UPDATE job_run SET status = 'failed', error = :error, finished_at = now()
    WHERE job_name = :job AND period = :period
    """
)
_FIRST = text("SELECT min(period_start) FROM job_run WHERE job_name = :job")
_STATE = text(
    "SELECT period, status, attempts FROM job_run WHERE job_name = :job AND period_start >= :since"
)


class JobScheduler:
    def __init__(
        self,
        db: Database,
        jobs: Sequence[Job],
        *,
        timezone: str = "Asia/Shanghai",
        tick_seconds: float = 30.0,
        catch_up: int = 31,
        max_attempts: int = 5,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.jobs = list(jobs)
        self.tz = ZoneInfo(timezone)
        self.tick_seconds = tick_seconds
        self.catch_up = catch_up
        self.max_attempts = max_attempts
        self.clock = clock or (lambda: datetime.now(self.tz))

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, self.tz)

    async def due(self, job: Job) -> list[Period]:
        """The ended periods this job has not completed, oldest first: back to its first
        recorded period, at most `catch_up` of them (only the last one on a first start)."""
        today = self.clock().astimezone(self.tz).date()
        recent = [Period.containing(job.period, today).previous()]
        while len(recent) < self.catch_up:
            recent.append(recent[-1].previous())
        params = {"job": job.name, "since": self._start_of(recent[-1].start)}
        async with self.db.transaction() as session:
            first = (await session.execute(_FIRST, params)).scalar()
            rows = (await session.execute(_STATE, params)).all()
        if first is None:
            return recent[:1]
        settled = {
            r.period for r in rows if r.status == "succeeded" or r.attempts >= self.max_attempts
        }
        first_day = first.astimezone(self.tz).date()
        return [p for p in reversed(recent) if p.start >= first_day and p.key not in settled]

    async def run_once(self, job: Job, period: Period) -> bool:
        """Claim and run `job` for `period`; False if another replica has it or had it, or if
        it failed (recorded, and retried on a later tick).

        The job runs in a savepoint of the claim's transaction, so a failure is recorded under
        the same claim: a replica waiting on the claim never sees the period free.
        """
        params = {"job": job.name, "period": period.key, "start": self._start_of(period.start)}
        async with self.db.transaction() as session:
            claimed = await session.execute(_CLAIM, {**params, "max_attempts": self.max_attempts})
            if claimed.first() is None:
                return False
            try:
                async with session.begin_nested():
                    outcome = await job.run(session, period)
            except Exception as exc:
                log.exception("job %s for %s failed", job.name, period.key)
                await session.execute(_FAILED, {**params, "error": repr(exc)[:4000]})
                return False
            await session.execute(
                _DONE, {**params, "outcome": orjson.dumps(outcome or {}, default=str).decode()}
            )
        log.info("job %s ran for %s", job.name, period.key, extra={"outcome": outcome})
        return True

    async def tick(self) -> None:
        for job in self.jobs:
            for period in await self.due(job):
                await self.run_once(job, period)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job scheduler tick failed")
            await asyncio.sleep(self.tick_seconds)
