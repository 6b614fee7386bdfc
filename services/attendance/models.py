from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class Checkin(SQLModel, table=True):
    """签到: a cadre's check-in or check-out in a village, as the phone reported it."""

    id: UUID = Field(primary_key=True)
    client_id: UUID = Field(unique=True, description="the phone's own id, so a resend is no repeat")
    cadre_id: UUID = Field(index=True)
    region_code: str = Field(index=True, max_length=12)
    kind: str
    latitude: float
    longitude: float
    accuracy_m: float | None = None
    client_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
