from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Computed, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

# A day's status (days/rules.py says the same in words): a counted check-in beats
# everything, then what was approved, else an absence.
STATUS = (
    "CASE WHEN present_checkins > 0 THEN 'present' "
    "WHEN absence_kind IS NOT NULL THEN absence_kind ELSE 'absent' END"
)


class CadreDay(SQLModel, table=True):
    """在村天数的读模型: one cadre's one day (the county's calendar day), kept up to date as
    check-ins, reviews and leave arrive, and made for every cadre on a team by the daily job,
    so that a day with nothing at all reads as an absence. Reports read this, never a scan of
    the check-ins."""

    __tablename__ = "cadre_day"

    cadre_id: UUID = Field(primary_key=True)
    day: date = Field(primary_key=True)
    region_code: str = Field(max_length=12)
    present_checkins: int = Field(default=0, description="counted check-ins: inside, not rejected")
    flagged_checkins: int = 0
    absence_kind: str | None = Field(default=None, description="approved leave, training, trip")
    status: str = Field(sa_column=Column(String, Computed(STATUS, persisted=True)))


class AttendanceRule(SQLModel, table=True):
    """考勤规则: a county's rule for its cadres' days in the village (days/rules.py's Rule),
    what an unexplained absence is alerted after, who approves whose leave, and the thresholds
    a check-in is judged by. A county that has set none has the defaults."""

    __tablename__ = "attendance_rule"

    region_code: str = Field(primary_key=True, max_length=12, description="the county's code")
    min_days_per_month: int
    min_days_per_year: int | None = None
    counted: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    absence_alert_days: int
    absence_alert_delay_days: int
    approvers: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    max_travel_kmh: float
    max_clock_ahead_minutes: int
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_by: UUID
