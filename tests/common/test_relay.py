"""The outbox relay on a real PostgreSQL and JetStream."""

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter

import nats

from services.common.contracts.attendance import CheckinRecorded
from services.common.db import Database
from services.common.events import emit
from services.common.messaging import Messaging
from services.common.relay import OutboxRelay
from services.common.testing import count_rows, eventually
from tests.common.events import checkin_event


async def write_events(db: Database, count: int) -> None:
    """Each in its own transaction, as requests would write them."""
    for _ in range(count):
        event = checkin_event()
        async with db.transaction() as session:
            await emit(session, CheckinRecorded.from_event(event), source="/tests")


@contextlib.asynccontextmanager
async def connected(nats_url: str):
    messaging = Messaging(nats_url, name="relay-test", publish_window=64)
    await messaging.connect()
    try:
        yield messaging
    finally:
        await messaging.close()


async def test_two_relays_at_once_publish_every_event_once(attendance_db, nats_url):
    writer = Database(attendance_db, pool_size=2)
    await write_events(writer, 400)
    seen: Counter[str] = Counter()
    # A plain NATS subscriber sees every publish, even those JetStream drops as duplicates.
    watcher = await nats.connect(nats_url)

    async def count(msg) -> None:
        seen[msg.headers["Nats-Msg-Id"]] += 1

    await watcher.subscribe("attendance.>", cb=count)

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while published := (await relay.publish_pending()).published:
            total += published
        return total

    async with connected(nats_url) as one, connected(nats_url) as two:
        dbs = [Database(attendance_db, pool_size=2) for _ in range(2)]
        relays = [OutboxRelay(db, m, batch=50) for db, m in zip(dbs, (one, two), strict=True)]
        shares = await asyncio.gather(*(drain(r) for r in relays))
        await watcher.flush()
        await asyncio.sleep(0.2)
        stream = await one.js.stream_info("ATTENDANCE")
        for db in dbs:
            await db.dispose()

    await watcher.close()
    await writer.dispose()
    assert sum(shares) == 400
    assert len(seen) == 400
    assert set(seen.values()) == {1}
    assert stream.state.messages == 400
    assert await count_rows(attendance_db, "outbox", "published_at IS NULL") == 0


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(attendance_db, nats_url):
    db = Database(attendance_db, pool_size=2)
    async with connected(nats_url) as messaging:
        relay = OutboxRelay(db, messaging, poll_seconds=60)
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.sleep(0.5)  # the relay is listening, and will not poll for a minute
            await write_events(db, 3)
            await eventually(
                lambda: count_rows(attendance_db, "outbox", "published_at IS NOT NULL"),
                lambda n: n == 3,
                within=5,
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await db.dispose()


async def test_rows_wait_while_nats_is_down_and_go_out_when_it_is_back(attendance_db, own_nats):
    db = Database(attendance_db, pool_size=2)
    async with connected(own_nats.url) as messaging:
        relay = OutboxRelay(db, messaging, ack_timeout=1.0)
        own_nats.stop()
        await write_events(db, 5)  # writes succeed without NATS

        assert await relay.publish_pending() == (0, 0)
        assert await count_rows(attendance_db, "outbox", "published_at IS NULL") == 5

        own_nats.start()
        await eventually(lambda: _connected(messaging), bool)
        while (await relay.publish_pending()).published:
            pass
        stream = await messaging.js.stream_info("ATTENDANCE")
    await db.dispose()
    assert stream.state.messages == 5
    assert await count_rows(attendance_db, "outbox", "published_at IS NULL") == 0


async def _connected(messaging: Messaging) -> bool:
    return messaging.connected


async def test_published_rows_are_pruned_and_pending_ones_kept(attendance_db, nats_url):
    db = Database(attendance_db, pool_size=2)
    await write_events(db, 4)
    async with connected(nats_url) as messaging:
        relay = OutboxRelay(db, messaging, keep_seconds=0)
        await relay.publish_pending()
        await write_events(db, 2)
        await relay.prune()
    await db.dispose()
    assert await count_rows(attendance_db, "outbox") == 2
    assert await count_rows(attendance_db, "outbox", "published_at IS NULL") == 2


async def test_a_nats_that_stops_answering_cannot_hold_the_relay(attendance_db, own_nats):
    """More rows than the ack window, and no acks: the pass ends, the rows stay pending."""
    db = Database(attendance_db, pool_size=2)
    await write_events(db, 40)
    messaging = Messaging(own_nats.url, name="relay-test", publish_window=16)
    await messaging.connect()
    relay = OutboxRelay(db, messaging, batch=40, ack_timeout=1.0)
    os.kill(own_nats.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        stalled = await relay.publish_pending()
        took = time.monotonic() - started
        pending = await count_rows(attendance_db, "outbox", "published_at IS NULL")
    finally:
        os.kill(own_nats.process.pid, signal.SIGCONT)

    assert stalled == (0, 40)
    assert took < 20  # bounded by the ack timeout, not by NATS coming back
    assert pending == 40
    total = 0
    async with asyncio.timeout(30):
        while total < 40:
            total += (await relay.publish_pending()).published
    stream = await messaging.js.stream_info("ATTENDANCE")
    await messaging.close()
    await db.dispose()
    assert stream.state.messages == 40  # what went out before the stop was not stored twice
