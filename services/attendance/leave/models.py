from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class LeaveRequest(SQLModel, table=True):
    """请假 / 培训 / 公出: a cadre's request to be away from the village for some days, and the
    responsible person's decision. Approved, it explains those days (days/rules.py)."""

    __tablename__ = "leave_request"

    id: UUID = Field(primary_key=True)
    cadre_id: UUID = Field(index=True)
    region_code: str = Field(index=True, max_length=12, description="the cadre's village")
    member_id: UUID = Field(description="the team term the request falls in")
    team_role: str
    kind: str  # leave, training, trip
    first_day: date
    last_day: date
    reason: str
    status: str = "pending"  # pending, approved, refused, cancelled
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_by: UUID | None = None
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    decision_note: str | None = None
