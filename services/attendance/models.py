from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class Checkin(SQLModel, table=True):
    """签到: a cadre's check-in or check-out in a village, as the phone reported it."""

    id: UUID = Field(primary_key=True)
    client_id: UUID = Field(unique=True, description="the phone's own id, so a resend is no repeat")
    cadre_id: UUID = Field(index=True)
    region_code: str = Field(index=True, max_length=12)
    kind: str
    latitude: float  # as the phone reported it, in `coordinate_system`
    longitude: float
    coordinate_system: str = "wgs84"
    wgs84_latitude: float  # converted: what the geofence judged
    wgs84_longitude: float
    accuracy_m: float | None = None
    device: str | None = None
    mock_location: bool = False
    client_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )  # the phone's clock as it sent it, if it said
    # The judgement kept with it: inside the village's areas (None: the village has none),
    # how far outside, and what else looked wrong (a flagged check-in counts until rejected).
    inside: bool | None = None
    distance_m: float | None = None
    flags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    # 签到照片: the photo it was taken with (photos/models.py; a foreign key in the migration).
    photo_sha256: str | None = Field(default=None, max_length=64)
    # 审核: a reviewer accepts or rejects it; a rejected check-in no longer counts.
    review: str = "none"
    reviewed_by: UUID | None = None
    reviewed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    review_note: str | None = None
