from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

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
