from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, LargeBinary
from sqlmodel import Field, SQLModel


class Photo(SQLModel, table=True):
    """签到照片: an image a cadre uploaded to check in with, stored once by its content: the
    SHA-256 of its bytes is its key, so the same bytes sent again, or on another check-in,
    are the same photo. Belongs to the village it was uploaded for."""

    __tablename__ = "photo"

    sha256: str = Field(primary_key=True, max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    content_type: str
    size_bytes: int
    uploaded_by: UUID
    region_code: str = Field(max_length=12)
    uploaded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
