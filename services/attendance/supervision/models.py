from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _moment(nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(DateTime(timezone=True), nullable=nullable),
    )


class SpotCheck(SQLModel, table=True):
    """明察暗访: an inspector's unannounced visit to a village, and who was found there."""

    __tablename__ = "spot_check"

    id: UUID = Field(primary_key=True)
    client_id: UUID = Field(unique=True, description="the sender's own id: a resend is no repeat")
    region_code: str = Field(index=True, max_length=12, description="the village visited")
    visited_at: datetime = _moment()
    visit_day: date = Field(description="the county's calendar day of the visit")
    inspector_id: UUID
    notes: str | None = None
    photo_sha256: str | None = None  # the photo's SHA-256; the photo is kept elsewhere
    recorded_at: datetime = _moment()


class SpotCheckCadre(SQLModel, table=True):
    """One cadre of the team as a spot check found them: there, or not (with the inspector's
    note, and the approved leave, training or trip that explained it, as it stood then)."""

    __tablename__ = "spot_check_cadre"

    spot_check_id: UUID = Field(primary_key=True, foreign_key="spot_check.id")
    cadre_id: UUID = Field(primary_key=True, index=True)
    member_id: UUID = Field(description="the team term the cadre was on that day")
    role: str
    found: bool
    note: str | None = None
    absence_kind: str | None = Field(default=None, description="leave, training, trip")
    leave_request_id: UUID | None = None


class ConductReport(SQLModel, table=True):
    """驻村风气监督员报告: a village's conduct supervisor on its team's presence and conduct."""

    __tablename__ = "conduct_report"

    id: UUID = Field(primary_key=True)
    region_code: str = Field(index=True, max_length=12, description="the village")
    supervisor_id: UUID
    first_day: date
    last_day: date
    presence: str
    conduct: str
    # The cadres of concern: [{"cadre_id": ..., "concern": ...}]
    concerns: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    reported_at: datetime = _moment()


class Talk(SQLModel, table=True):
    """谈心谈话: a heart-to-heart talk with a cadre (the contact leader's, at least monthly),
    the problems raised and whether solved, the care given; an unsolved problem may be
    escalated to the township party committee."""

    __tablename__ = "talk"

    id: UUID = Field(primary_key=True)
    cadre_id: UUID
    region_code: str = Field(index=True, max_length=12, description="the cadre's village")
    member_id: UUID = Field(description="the team term the cadre was on that day")
    role: str
    talked_on: date
    held_by: UUID = Field(description="谈话人: who held the talk")
    topics: str
    # [{"description": ..., "solved": bool}]
    problems: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    care: str | None = None
    recorded_at: datetime = _moment()
    escalated_at: datetime | None = _moment(nullable=True)
    escalated_by: UUID | None = None
    escalation_note: str | None = None
