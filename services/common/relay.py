"""The outbox relay: publishes committed outbox rows to JetStream, each exactly once in effect.

Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of relays (one per replica) share the
work without publishing a row twice; never "id > last seen", because sequences commit out of order.
A batch is published asynchronously with a bounded window of acks in flight; only acknowledged rows
are marked. `Nats-Msg-Id` is the event id, so a row re-sent after a crash between publish and mark
is dropped by the stream's duplicate window. While NATS is down rows wait; writes still succeed.
"""

import asyncio
import contextlib
import logging
import time
from typing import NamedTuple
from uuid import UUID

import asyncpg
import nats.errors
from nats.js.errors import NoStreamResponseError
from sqlalchemy import text

from services.common.db import Database, plain_url
from services.common.messaging import Messaging

log = logging.getLogger(__name__)

_CLAIM = text(
    "SELECT id, type, payload FROM outbox WHERE published_at IS NULL "
    "ORDER BY created_at, id LIMIT :batch FOR UPDATE SKIP LOCKED"
)
_MARK = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
_PRUNE = text(
    "DELETE FROM outbox WHERE published_at IS NOT NULL "
    "AND published_at < now() - make_interval(secs => :keep)"
)


class Pass(NamedTuple):
    """What one pass of the relay did."""

    published: int
    failed: int


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        messaging: Messaging,
        *,
        batch: int = 256,
        poll_seconds: float = 2.0,
        ack_timeout: float = 5.0,
        keep_seconds: float = 72 * 3600,
    ) -> None:
        self.db = db
        self.messaging = messaging
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.ack_timeout = ack_timeout
        self.keep_seconds = keep_seconds
        self._wake = asyncio.Event()
        self._last_prune = 0.0

    async def publish_pending(self) -> Pass:
        """Publish one batch of pending rows; mark the acknowledged ones.

        Bounded in time: a slot in the ack window is waited for at most `ack_timeout`, and so
        is every ack, so a NATS that stops answering cannot hold the claimed rows' locks.
        """
        js = self.messaging.js
        if js is None or not self.messaging.connected:
            return Pass(0, 0)
        async with self.db.transaction() as session:
            rows = (await session.execute(_CLAIM, {"batch": self.batch})).all()
            if not rows:
                return Pass(0, 0)
            futures: list[asyncio.Future] = []
            try:
                for row in rows:
                    futures.append(
                        await js.publish_async(
                            row.type,
                            row.payload,
                            headers={"Nats-Msg-Id": str(row.id)},
                            wait_stall=self.ack_timeout,
                        )
                    )
            except (nats.errors.Error, OSError) as exc:
                log.warning("publishing stopped after %d of %d: %r", len(futures), len(rows), exc)
                # nats-py keeps the window slot of a publish that raised; a fresh context
                # starts with a whole window again.
                self.messaging.renew_jetstream()
            try:
                if futures:
                    await asyncio.wait(futures, timeout=self.ack_timeout)
            finally:
                for future in futures:
                    if not future.done():
                        future.cancel()  # frees its slot in the window
            published: list[UUID] = []
            no_stream = False
            for row, future in zip(rows, futures, strict=False):
                if not future.cancelled() and future.exception() is None:
                    published.append(row.id)
                elif not future.cancelled():
                    no_stream |= isinstance(future.exception(), NoStreamResponseError)
            if published:
                await session.execute(_MARK, {"ids": published})
        if no_stream:  # the server lost its streams (a new, empty NATS): make them again
            await self.messaging.provision()
        failed = len(rows) - len(published)
        if failed:
            log.warning("%d of %d events not acknowledged; they stay pending", failed, len(rows))
        return Pass(len(published), failed)

    async def prune(self) -> None:
        async with self.db.transaction() as session:
            await session.execute(_PRUNE, {"keep": self.keep_seconds})

    async def run(self) -> None:
        """Publish until cancelled: woken by NOTIFY on commit, or by the poll as a fallback."""
        listener = asyncio.create_task(self._listen())
        try:
            failures = 0
            while True:
                # Cleared before the claim, so a commit that lands during a pass is not missed.
                self._wake.clear()
                try:
                    outcome = await self.publish_pending()
                    if time.monotonic() - self._last_prune > 600:
                        await self.prune()
                        self._last_prune = time.monotonic()
                except Exception:
                    log.exception("outbox relay pass failed")
                    outcome = Pass(0, 1)
                if outcome.failed:
                    # Back off: every commit's NOTIFY would otherwise re-send the same head.
                    failures += 1
                    await asyncio.sleep(min(0.5 * 2 ** min(failures, 5), 10.0))
                    continue
                failures = 0
                if outcome.published >= self.batch:
                    continue  # more are waiting
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        """Hold a LISTEN connection; reconnect when it drops (the poll covers the gap)."""
        while True:
            try:
                conn = await asyncpg.connect(plain_url(self.db.url))
                closed = asyncio.Event()
                conn.add_termination_listener(lambda _, closed=closed: closed.set())
                try:
                    await conn.add_listener("outbox", lambda *_: self._wake.set())
                    self._wake.set()
                    await closed.wait()
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox LISTEN connection lost: %s", exc)
            await asyncio.sleep(self.poll_seconds)
