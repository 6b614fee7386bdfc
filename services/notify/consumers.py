"""Events notify handles: each in one transaction with its inbox record (exactly once in effect).

Who is who comes from identity's user events and attendance's roster events (contacts); the
events that alert someone are routed by the alert routes (alerts/). Nothing is sent here: the
messages are queued, and the dispatcher sends them after the commit.
"""

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Handler
from services.common.contracts.attendance import CheckinRecorded, RosterChanged
from services.common.contracts.identity import (
    UserCreated,
    UserDeactivated,
    UserFacts,
    UserReactivated,
    UserUpdated,
)
from services.common.events import Event
from services.common.sensitive import SensitiveData
from services.notify.alerts import service as alerts
from services.notify.alerts.book import RouteBook
from services.notify.alerts.parties import SUBJECTS
from services.notify.contacts import service as contacts


def handlers(
    vault: SensitiveData, timezone: ZoneInfo, providers: Mapping[str, str]
) -> list[Handler]:
    """The handlers, with what they need: the data keys (phones), the county's time zone,
    which provider each channel leaves by; the routes they read, kept a moment."""
    book = RouteBook()

    async def on_user(session: AsyncSession, event: Event) -> None:
        user = UserFacts.model_validate(event.data)
        await contacts.keep_user(session, vault, user, facts_at=event.time)

    async def on_roster(session: AsyncSession, event: Event) -> None:
        await contacts.keep_roster_entry(session, RosterChanged.from_event(event))

    async def on_alerting(session: AsyncSession, event: Event) -> None:
        await alerts.alert(session, event, timezone=timezone, providers=providers, book=book)

    users = [UserCreated, UserUpdated, UserDeactivated, UserReactivated]
    return [
        *(Handler(kind.type.replace(".", "-"), kind.type, on_user) for kind in users),
        Handler("roster-changed", RosterChanged.type, on_roster),
        # "checkin-recorded" is the durable consumer's name from before the routes.
        *(
            Handler(
                "checkin-recorded"
                if event_type == CheckinRecorded.type
                else "alert-" + event_type.split(".", 1)[1].replace(".", "-").replace("_", "-"),
                event_type,
                on_alerting,
            )
            for event_type in SUBJECTS
        ),
    ]
