"""Attendance reports (考勤报表): a period's days per cadre, team, village, township or county,
ranked, read from the day-status read model (cadre_day), never from the check-ins, with the
spot checks' results (明察暗访) of the period."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.days.schemas import AttendanceRuleBase
from services.attendance.reports.schemas import (
    CODE_LENGTH,
    CadreReportRow,
    Level,
    RegionReportRow,
)
from services.common.auth import Caller

# Each cadre's days in the period within both prefixes (the caller's scope and the filter),
# and the days that count by their county's rule (training and trips by default).
_CADRES = """
    WITH days AS (
        SELECT cadre_id, region_code, count(*) AS days,
            count(*) FILTER (WHERE status = 'present') AS present,
            count(*) FILTER (WHERE status = 'leave') AS leave,
            count(*) FILTER (WHERE status = 'training') AS training,
            count(*) FILTER (WHERE status = 'trip') AS trip,
            count(*) FILTER (WHERE status = 'absent') AS absent,
            sum(flagged_checkins)::int AS flagged_checkins
        FROM cadre_day
        WHERE region_code LIKE :scope AND region_code LIKE :within
          AND day BETWEEN :first AND :last
        GROUP BY cadre_id, region_code
    ), spot AS (
        SELECT spot_check_cadre.cadre_id,
            count(*) FILTER (WHERE found) AS spot_checks_found,
            count(*) FILTER (WHERE NOT found AND absence_kind IS NULL) AS spot_checks_missed
        FROM spot_check_cadre JOIN spot_check ON spot_check.id = spot_check_cadre.spot_check_id
        WHERE spot_check.region_code LIKE :scope AND spot_check.region_code LIKE :within
          AND visit_day BETWEEN :first AND :last
        GROUP BY spot_check_cadre.cadre_id
    ), counted AS (
        SELECT days.*,
            coalesce(spot.spot_checks_found, 0) AS spot_checks_found,
            coalesce(spot.spot_checks_missed, 0) AS spot_checks_missed,
            present
            + CASE WHEN 'leave' = ANY(rule.counted) THEN leave ELSE 0 END
            + CASE WHEN 'training' = ANY(rule.counted) THEN training ELSE 0 END
            + CASE WHEN 'trip' = ANY(rule.counted) THEN trip ELSE 0 END AS counted
        FROM days CROSS JOIN LATERAL (
            SELECT coalesce(
                (SELECT counted FROM attendance_rule
                 WHERE attendance_rule.region_code = left(days.region_code, 6) || '000000'),
                CAST(:default_counted AS varchar[])) AS counted
        ) AS rule
        LEFT JOIN spot ON spot.cadre_id = days.cadre_id
    )
"""
_COUNTS = (
    "days, present, leave, training, trip, absent, counted, flagged_checkins, "
    "spot_checks_found, spot_checks_missed, "
    "round(counted::numeric / nullif(days, 0), 4)::float AS attendance_rate"
)
_CADRE_REPORT = text(
    f"""{_CADRES}
    SELECT * FROM (
        SELECT cadre_id, region_code, {_COUNTS},
            rank() OVER (ORDER BY counted DESC, absent) AS rank,
            row_number() OVER (ORDER BY counted DESC, absent, cadre_id, region_code) AS position
        FROM counted
    ) AS ranked
    WHERE position > :after ORDER BY position LIMIT :limit
    """
)
_REGION_REPORT = text(
    f"""{_CADRES}, regions AS (
        SELECT rpad(left(region_code, :length), 12, '0') AS region_code,
            count(DISTINCT cadre_id)::int AS cadres,
            sum(days)::int AS days, sum(present)::int AS present, sum(leave)::int AS leave,
            sum(training)::int AS training, sum(trip)::int AS trip,
            sum(absent)::int AS absent, sum(counted)::int AS counted,
            sum(flagged_checkins)::int AS flagged_checkins,
            sum(spot_checks_found)::int AS spot_checks_found,
            sum(spot_checks_missed)::int AS spot_checks_missed
        FROM counted GROUP BY 1
    )
    SELECT * FROM (
        SELECT region_code, cadres, {_COUNTS},
            rank() OVER (ORDER BY counted::numeric / nullif(days, 0) DESC NULLS LAST) AS rank,
            row_number() OVER (
                ORDER BY counted::numeric / nullif(days, 0) DESC NULLS LAST, region_code
            ) AS position
        FROM regions
    ) AS ranked
    WHERE position > :after ORDER BY position LIMIT :limit
    """
)
_DEFAULT_COUNTED = [kind.value for kind in AttendanceRuleBase().counted]
EVERYTHING = 2**62


@dataclass(frozen=True)
class Report:
    """A report's rows: each cadre's (`level` None) or each region's at `level`, over the
    days from `first` to `last` (both included), within `region_code` and the caller's scope."""

    first: date
    last: date
    level: Level | None = None
    region_code: str | None = None

    @property
    def row(self) -> type[CadreReportRow | RegionReportRow]:
        return CadreReportRow if self.level is None else RegionReportRow

    def query(self, caller: Caller, after: int, limit: int) -> tuple[Any, dict[str, Any]]:
        params = {
            "scope": f"{caller.scope}%",
            "within": f"{self.region_code or ''}%",
            "first": self.first,
            "last": self.last,
            "default_counted": _DEFAULT_COUNTED,
            "after": after,
            "limit": limit,
        }
        if self.level is None:
            return _CADRE_REPORT, params
        return _REGION_REPORT, {**params, "length": CODE_LENGTH[self.level]}


# Planned for each request's own region prefix: a plan made once for any prefix (what a
# prepared statement falls back to after five runs) cannot use the (region_code, day) index,
# and reads every day of every county (measured: a county's month 5 ms, then 90 ms).
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def page(
    session: AsyncSession, report: Report, caller: Caller, *, after: int, limit: int
) -> list[CadreReportRow | RegionReportRow]:
    """The ranked rows after position `after` (a page's cursor), at most `limit` of them."""
    await session.execute(_CUSTOM_PLANS)
    statement, params = report.query(caller, after, limit)
    return [report.row.model_validate(row) for row in await session.execute(statement, params)]


async def stream(
    session: AsyncSession, report: Report, caller: Caller
) -> AsyncIterator[CadreReportRow | RegionReportRow]:
    """Every row, read from a server-side cursor (an export)."""
    await session.execute(_CUSTOM_PLANS)
    statement, params = report.query(caller, 0, EVERYTHING)
    async for row in await session.stream(statement, params):
        yield report.row.model_validate(row)
