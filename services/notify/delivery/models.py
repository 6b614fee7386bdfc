from datetime import datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


def _moment(nullable: bool = True) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Message(SQLModel, table=True):
    """通知消息: one message to one person through one channel, and what became of it.

    `idempotency_key` names what it is for (an event and a route, or a campaign) and whom: the
    same key is never queued twice, across restarts and redeliveries. Status: queued → sending
    → sent → delivered, or failed; `opted_out` (退订) and `cancelled` are never sent."""

    id: UUID = Field(primary_key=True)
    idempotency_key: UUID
    event_id: UUID | None = None
    campaign_id: UUID | None = None
    route_id: UUID | None = None
    recipient_id: UUID | None = None
    region_code: str | None = Field(default=None, max_length=12)
    priority: str = "alert"  # alert: at once; greeting: not in quiet hours
    channel: str
    provider: str
    template: str
    body: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    provider_template_code: str | None = None
    sign_name: str | None = None
    parts: int = 1
    address_masked: str | None = None
    fallback: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String)))
    status: str
    attempts: int = 0
    not_before: datetime = Field(sa_column=_moment(nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=_moment())
    provider_message_id: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    created_at: datetime = Field(sa_column=_moment(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_moment())
    delivered_at: datetime | None = Field(default=None, sa_column=_moment())
    updated_at: datetime = Field(sa_column=_moment(nullable=False))


class QuietHours(SQLModel, table=True):
    """免打扰时段: a county's hours in which greetings wait for the morning (alerts do not)."""

    __tablename__ = "quiet_hours"

    county_code: str = Field(primary_key=True, max_length=6)
    starts: time
    ends: time
    updated_by: UUID
    updated_at: datetime = Field(sa_column=_moment(nullable=False))
