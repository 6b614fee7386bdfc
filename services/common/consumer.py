"""The consumer runner: durable pull consumers, explicit ack, exactly once in effect.

Each handler gets its own durable consumer. A message is handled in a transaction that also
records its event id in the inbox (a fetched batch shares one, to save commits), so a
redelivery (crash after the commit, before the ack) finds the id and changes nothing. A failing
message is retried with backoff; after the last delivery it becomes a dead-letter record,
listed and replayable through the service's API.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import context
from services.common.db import Database, driver
from services.common.errors import database_problem
from services.common.events import Event
from services.common.ids import new_id
from services.common.messaging import Messaging, stream_for
from services.common.models import DeadLetter

log = logging.getLogger(__name__)

HandlerFunc = Callable[[AsyncSession, Event], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    """What a service does with one event type; `name` becomes `<service>-<name>`, its consumer.

    `handle` runs inside a transaction that may roll back and run again (a failed batch is
    redone event by event), so it changes only the database: anything sent to the outside
    world belongs after the commit (record it, then send it, as the outbox does for events).
    """

    name: str
    event_type: str
    handle: HandlerFunc


_CLAIM = (
    "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


async def apply(session: AsyncSession, consumer: str, handler: Handler, event: Event) -> bool:
    """Run the handler unless the inbox says this consumer already did; True if it ran."""
    # On asyncpg directly: every event every consumer handles runs it (the ORM's bulk insert
    # path cost more than the handler in a profile of notify).
    connection = await driver(session)
    if await connection.fetchval(_CLAIM, consumer, event.id) is None:
        return False
    await handler.handle(session, event)
    return True


def _unreadable_id(msg: Msg) -> UUID:
    """An id for a message that is not an event: its message id, else its stream position, so
    a redelivery of it updates the same dead letter."""
    try:
        return UUID(msg.headers["Nats-Msg-Id"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        meta = msg.metadata
        return uuid5(NAMESPACE_URL, f"nats:{meta.stream}:{meta.sequence.stream}")


class ConsumerRunner:
    def __init__(
        self,
        service: str,
        db: Database,
        messaging: Messaging,
        handlers: Sequence[Handler],
        *,
        batch: int = 64,
        max_deliveries: int = 5,
        backoff: Sequence[float] = (1.0, 5.0, 30.0, 120.0),
        ack_wait: float = 30.0,
        fetch_timeout: float = 2.0,
    ) -> None:
        self.service = service
        self.db = db
        self.messaging = messaging
        self.handlers = list(handlers)
        self.batch = batch
        self.max_deliveries = max_deliveries
        self.backoff = list(backoff)
        self.ack_wait = ack_wait
        self.fetch_timeout = fetch_timeout
        # Failed tries per stream position, for the messages this process is retrying.
        self._failures: dict[tuple[str, int], int] = {}

    def consumer_name(self, handler: Handler) -> str:
        return f"{self.service}-{handler.name}"

    def handler_for(self, consumer: str) -> Handler | None:
        return next((h for h in self.handlers if self.consumer_name(h) == consumer), None)

    async def run(self) -> None:
        await self.messaging.ready.wait()
        await asyncio.gather(*(self._run(h) for h in self.handlers))

    async def _run(self, handler: Handler) -> None:
        """Fetch and handle forever; re-create the subscription after a reconnect or an error."""
        while True:
            try:
                sub = await self._subscribe(handler)
                generation = self.messaging.generation
                while generation == self.messaging.generation:
                    try:
                        messages = await sub.fetch(self.batch, timeout=self.fetch_timeout)
                    except (nats.errors.TimeoutError, TimeoutError):
                        continue  # nothing waiting
                    await self.process(handler, messages)
                try:
                    await sub.unsubscribe()
                except nats.errors.Error:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: %r; re-subscribing", self.consumer_name(handler), exc)
                await asyncio.sleep(1.0)

    async def _subscribe(self, handler: Handler):  # type: ignore[no-untyped-def]
        js = self.messaging.js
        assert js is not None
        name = self.consumer_name(handler)
        return await js.pull_subscribe(
            handler.event_type,
            durable=name,
            stream=stream_for(handler.event_type),
            config=ConsumerConfig(
                durable_name=name,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait,
                # Unlimited on the server: the runner counts deliveries itself, so the last
                # one always leaves a dead-letter record, even after a crash.
                max_deliver=-1,
                filter_subject=handler.event_type,
            ),
        )

    async def process(self, handler: Handler, messages: Sequence[Msg]) -> None:
        """Handle a fetched batch in one transaction (one commit for many events); if any
        event fails, roll back and handle them one by one, so only the failing one retries."""
        consumer = self.consumer_name(handler)
        events: list[tuple[Msg, Event]] = []
        for msg in messages:
            try:
                events.append((msg, Event.model_validate_json(msg.data)))
            except ValidationError as exc:
                await self._dead_letter(consumer, None, msg, f"not a valid event: {exc}")
                await self._settle(msg.term())
        if len(events) > 1:
            try:
                async with self.db.transaction() as session:
                    for _, event in events:
                        token = context.event_id.set(str(event.id))
                        try:
                            await apply(session, consumer, handler, event)
                        finally:
                            context.event_id.reset(token)
            except Exception:
                log.info("consumer %s: a batch failed; handling its events one by one", consumer)
            else:
                for msg, _ in events:
                    self._failures.pop((consumer, msg.metadata.sequence.stream), None)
                    await self._settle(msg.ack())
                return
        for msg, event in events:
            await self._process_one(consumer, handler, msg, event)

    async def _process_one(self, consumer: str, handler: Handler, msg: Msg, event: Event) -> None:
        token = context.event_id.set(str(event.id))
        try:
            try:
                async with self.db.transaction() as session:
                    await apply(session, consumer, handler, event)
            except Exception as exc:
                position = (consumer, msg.metadata.sequence.stream)
                if database_problem(exc).status == 503:
                    # The database is away: not the event's fault, so it does not count against
                    # the event; it waits the longest backoff and comes back.
                    log.warning("consumer %s: database unavailable: %r", consumer, exc)
                    await self._settle(msg.nak(delay=self.backoff[-1]))
                    return
                # The event's own failures, counted here: the server's delivery count also
                # grows while the database is away.
                failures = self._failures[position] = self._failures.get(position, 0) + 1
                if failures >= self.max_deliveries or isinstance(exc, ValidationError):
                    # A payload that does not fit its contract will not fit on a retry either.
                    log.error("consumer %s gives up on %s: %r", consumer, event.type, exc)
                    await self._dead_letter(consumer, event, msg, repr(exc), failures)
                    await self._settle(msg.term())
                    self._failures.pop(position, None)
                else:
                    log.warning("consumer %s failed (try %d): %r", consumer, failures, exc)
                    delay = self.backoff[min(failures, len(self.backoff)) - 1]
                    await self._settle(msg.nak(delay=delay))
                return
            self._failures.pop((consumer, msg.metadata.sequence.stream), None)
            await self._settle(msg.ack())
        finally:
            context.event_id.reset(token)

    async def _settle(self, ack: Awaitable[None]) -> None:
        """Ack, nak or term; if NATS is gone the message comes back and the inbox absorbs it."""
        try:
            await ack
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("could not settle message: %r", exc)

    async def _dead_letter(
        self, consumer: str, event: Event | None, msg: Msg, error: str, failures: int = 1
    ) -> None:
        envelope = (
            event.model_dump(mode="json") if event else {"raw": msg.data.decode(errors="replace")}
        )
        async with self.db.transaction() as session:
            await session.execute(
                insert(DeadLetter)
                .values(
                    id=new_id(),
                    consumer=consumer,
                    event_id=event.id if event else _unreadable_id(msg),
                    event_type=event.type if event else msg.subject,
                    envelope=envelope,
                    error=error[:4000],
                    deliveries=failures,
                )
                .on_conflict_do_update(
                    index_elements=["consumer", "event_id"],
                    set_={
                        "error": error[:4000],
                        "deliveries": failures,
                        "replayed_at": None,
                    },
                )
            )
