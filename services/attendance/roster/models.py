from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class TeamMember(SQLModel, table=True):
    """驻村工作队成员: one cadre's term on one village's work team. Never deleted: a term that
    ends keeps its row, with its end date and why, so any past day's team can be read."""

    __tablename__ = "team_member"

    id: UUID = Field(primary_key=True)
    cadre_id: UUID = Field(index=True)
    region_code: str = Field(index=True, max_length=12)
    role: str
    unit_name: str = Field(description="派出单位")
    unit_code: str | None = None
    term_start: date
    term_end: date | None = Field(default=None, description="the last day of the term, if known")
    contact_leader_id: UUID | None = None
    branch_secretary_id: UUID | None = None
    end_cause: str | None = None
    end_reason: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class CheckinArea(SQLModel, table=True):
    """签到范围: where a village's check-ins count, a circle or a polygon; a village may have
    several (scattered hamlets). Retired, never deleted: past check-ins were judged against it."""

    __tablename__ = "checkin_area"

    id: UUID = Field(primary_key=True)
    region_code: str = Field(index=True, max_length=12)
    name: str
    kind: str
    geometry: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    retired_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
