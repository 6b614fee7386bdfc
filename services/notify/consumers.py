"""Events notify handles: each in one transaction with its inbox record (exactly once in effect)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Handler
from services.common.contracts.attendance import CheckinRecorded
from services.common.events import Event
from services.notify import service


async def on_checkin_recorded(session: AsyncSession, event: Event) -> None:
    await service.acknowledge_checkin(session, CheckinRecorded.from_event(event), event_id=event.id)


HANDLERS = [Handler("checkin-recorded", CheckinRecorded.type, on_checkin_recorded)]
