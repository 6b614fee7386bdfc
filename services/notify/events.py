"""What notify publishes (services/common/contracts/notify.py): what became of an alert, and
a campaign completed."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.contracts.notify import (
    CampaignCompleted,
    MessageCounts,
    MessageDelivered,
    MessageFailed,
    MessageOutcome,
    MessageSent,
)
from services.common.events import emit

SOURCE = "zhucun/notify"
_KINDS: dict[str, type[MessageOutcome]] = {
    "sent": MessageSent,
    "delivered": MessageDelivered,
    "failed": MessageFailed,
}


async def message_outcome(session: AsyncSession, message: Any) -> None:
    """The alert's new status as its event. Greetings (no event behind them) publish none,
    nor does the console (a line in the log reached nobody: the check-in receipts)."""
    kind = _KINDS.get(message["status"])
    if kind is None or message["event_id"] is None or message["channel"] == "console":
        return
    facts = {**dict(message), "message_id": message["id"]}
    await emit(
        session,
        kind.model_validate(facts, from_attributes=False),
        source=SOURCE,
        subject=message["id"],
        region_code=message["region_code"],
    )


async def campaign_completed(session: AsyncSession, campaign: Any, counts: MessageCounts) -> None:
    """A campaign with nothing left to send, and what became of its messages."""
    await emit(
        session,
        CampaignCompleted(
            campaign_id=campaign["id"], planned=campaign["planned"] or 0, messages=counts
        ),
        source=SOURCE,
        subject=campaign["id"],
        region_code=campaign["region_code"],
    )
