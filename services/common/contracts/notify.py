"""Events the notify service publishes (通知): what became of an alert, and that a greeting
campaign completed.

Alerts (messages an event caused) one event each; a greeting campaign's million messages are
followed through the campaign's progress, and one event when it completes."""

from uuid import UUID

from pydantic import BaseModel

from services.common.events import EventData


class MessageOutcome(EventData):
    message_id: UUID
    event_id: UUID  # the event the alert was about
    recipient_id: UUID
    region_code: str | None
    channel: str
    provider: str
    template: str


class MessageSent(MessageOutcome):
    """已发送: the provider accepted the alert."""

    type = "notify.message.sent"
    version = 1


class MessageDelivered(MessageOutcome):
    """已送达: the provider's receipt says the phone got it."""

    type = "notify.message.delivered"
    version = 1


class MessageFailed(MessageOutcome):
    """发送失败: the alert could not be sent by any channel (or its receipt says so)."""

    type = "notify.message.failed"
    version = 1

    error_code: str | None
    error_detail: str | None


class MessageCounts(BaseModel):
    """A campaign's messages by status."""

    queued: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    opted_out: int = 0
    cancelled: int = 0


class CampaignCompleted(EventData):
    """问候活动已完成: nothing of the campaign is left to send; what became of its messages."""

    type = "notify.campaign.completed"
    version = 1

    campaign_id: UUID
    planned: int
    messages: MessageCounts
