"""The event envelope (CloudEvents 1.0, JSON) and emitting events through the outbox.

The NATS subject is the event type; the JetStream message id is the event id. Payload models live
in `services/common/contracts/<producer>.py`, so consumers never import the producer.
"""

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import context
from services.common.db import driver
from services.common.ids import new_id

# On asyncpg directly: every write of every service runs it (see bench/README.md).
_INSERT_OUTBOX = "INSERT INTO outbox (id, type, payload) VALUES ($1, $2, $3)"
# Well under NATS's max_payload (1 MB, deploy/nats/nats.conf): the relay can always send it.
MAX_EVENT_BYTES = 256 * 1024


class EventData(BaseModel):
    """The typed payload of one event type at one version."""

    model_config = ConfigDict(frozen=True)
    type: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def schema_uri(cls) -> str:
        return f"urn:zhucun:event:{cls.type}:v{cls.version}"

    @classmethod
    def from_event(cls, event: "Event") -> Self:
        return cls.model_validate(event.data)


class Event(BaseModel):
    """A CloudEvents 1.0 envelope; extensions `regioncode`, `correlationid`, `causationid`."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str
    regioncode: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__)


def make_event(
    data: EventData,
    *,
    source: str,
    subject: str | UUID | None = None,
    region_code: str | None = None,
) -> Event:
    """Wrap a payload in an envelope that carries the current request or event for correlation.

    Built without validation: every field is made here from typed values (a hot path).
    """
    return Event.model_construct(
        specversion="1.0",
        id=new_id(),
        source=source,
        type=data.type,
        time=datetime.now(UTC),
        subject=None if subject is None else str(subject),
        datacontenttype="application/json",
        dataschema=data.schema_uri(),
        regioncode=region_code,
        correlationid=context.request_id.get(),
        causationid=context.event_id.get(),
        data=data.model_dump(mode="json"),
    )


async def emit(
    session: AsyncSession,
    data: EventData,
    *,
    source: str,
    subject: str | UUID | None = None,
    region_code: str | None = None,
) -> Event:
    """Record an event in the caller's transaction; the relay publishes it after the commit."""
    event = make_event(data, source=source, subject=subject, region_code=region_code)
    payload = event.to_json()
    if len(payload) > MAX_EVENT_BYTES:  # caught at the write, not later as a stuck relay
        raise ValueError(f"{event.type} is {len(payload)} bytes; events carry ids and facts")
    connection = await driver(session)
    await connection.execute(_INSERT_OUTBOX, event.id, event.type, payload)
    return event
