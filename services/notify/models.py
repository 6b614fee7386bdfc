from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class Message(SQLModel, table=True):
    """通知消息: one message to one recipient through one channel, and what became of it."""

    id: UUID = Field(primary_key=True)
    event_id: UUID | None = Field(default=None, index=True, description="the event that caused it")
    recipient_id: UUID | None = Field(default=None, index=True)
    region_code: str | None = Field(default=None, max_length=12)
    channel: str
    template: str
    body: str
    status: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
