from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class Campaign(SQLModel, table=True):
    """问候活动: a greeting to an audience (cadres of a scope, uploaded lists) on a festival
    or a date, through channels in order of preference, sent at `send_at`.

    Status: scheduled → sending → completed; paused and resumed while sending; cancelled
    before it completes."""

    id: UUID = Field(primary_key=True)
    name: str
    region_code: str = Field(max_length=12, description="the scope it is sent within")
    festival_code: str | None = None
    festival_day: date | None = None
    send_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    template_code: str
    sender: str = "驻村工作队"  # 落款: who the greeting is signed by
    channels: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    audience_roles: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    audience_list_ids: list[UUID] = Field(sa_column=Column(ARRAY(Uuid), nullable=False))
    status: str = "scheduled"
    planned: int | None = None
    created_by: UUID
    request_key: str | None = None  # the creator's Idempotency-Key: a retry finds it
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    planned_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
