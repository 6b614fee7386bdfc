from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    event_id: UUID | None
    recipient_id: UUID | None
    region_code: str | None
    channel: str
    template: str
    body: str
    status: str
    created_at: datetime
    sent_at: datetime | None
