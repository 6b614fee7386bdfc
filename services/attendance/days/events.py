"""What the evaluation of days publishes (payloads: services/common/contracts/attendance.py)."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.days.rules import PeriodResult
from services.attendance.events import SOURCE
from services.common.contracts.attendance import (
    AbsenceDetected,
    MonthlyMinimumMissed,
    YearlyMinimumMissed,
)
from services.common.events import EventData, emit


def _responsible(term: Any) -> dict[str, Any]:
    """Who answers for the cadre of a team term (a row of team_member)."""
    return {
        "cadre_id": term.cadre_id,
        "region_code": term.region_code,
        "member_id": term.id,
        "team_role": term.role,
        "contact_leader_id": term.contact_leader_id,
        "branch_secretary_id": term.branch_secretary_id,
        "unit_name": term.unit_name,
        "unit_code": term.unit_code,
    }


async def _emit(session: AsyncSession, data: EventData, term: Any) -> None:
    await emit(session, data, source=SOURCE, subject=term.cadre_id, region_code=term.region_code)


async def absence_detected(session: AsyncSession, term: Any, last_day: date, days: int) -> None:
    first_day = last_day - timedelta(days=days - 1)
    data = AbsenceDetected(**_responsible(term), first_day=first_day, last_day=last_day, days=days)
    await _emit(session, data, term)


async def minimum_missed(session: AsyncSession, term: Any, result: PeriodResult) -> None:
    """A month's (YYYY-MM) or a year's (YYYY) days below the county's minimum."""
    counts = {"counted": result.counted, "required": result.required}
    data: EventData = (
        MonthlyMinimumMissed(**_responsible(term), month=result.period, **counts)
        if result.kind == "month"
        else YearlyMinimumMissed(**_responsible(term), year=result.period, **counts)
    )
    await _emit(session, data, term)
