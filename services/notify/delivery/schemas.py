from datetime import datetime, time
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

MessageStatus = Literal[
    "queued", "sending", "sent", "delivered", "failed", "opted_out", "cancelled"
]


class MessagePublic(BaseModel):
    """A message and what became of it (the address masked)."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    event_id: UUID | None
    campaign_id: UUID | None
    route_id: UUID | None
    recipient_id: UUID | None
    region_code: str | None
    priority: Literal["alert", "greeting"]
    channel: str
    provider: str
    template: str
    body: str
    parts: int
    address_masked: str | None
    status: MessageStatus
    attempts: int
    error_code: str | None
    error_detail: str | None
    provider_message_id: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class QuietHoursSet(BaseModel):
    """免打扰: the hours, county time, in which greetings wait (alerts do not)."""

    model_config = ConfigDict(extra="forbid")

    starts: time = Field(description="开始（县的当地时间），如 21:00")
    ends: time = Field(description="结束，如 08:00；早于开始即跨夜")

    @field_validator("starts", "ends")
    @classmethod
    def _county_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("county time, without an offset (21:00)")
        return value


class QuietHoursPublic(BaseModel):
    """A county's quiet hours: its own, or the default (`default: true`)."""

    county_code: str = Field(description="县的 6 位区划代码")
    starts: time
    ends: time
    default: bool = Field(description="true：本县未设定，用系统默认")
    updated_by: UUID | None = None
    updated_at: datetime | None = None
