"""NATS JetStream: the connection every service holds, and the streams that are the event log."""

import asyncio
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

# One stream per producer; limits-based retention keeps the events as the log (DESIGN.md).
STREAMS: dict[str, str] = {
    "IDENTITY": "identity.>",
    "ATTENDANCE": "attendance.>",
    "HOUSEHOLDS": "households.>",
    "INSPECTIONS": "inspections.>",
    "NOTIFY": "notify.>",
}
DUPLICATE_WINDOW_SECONDS = 600.0


def stream_for(event_type: str) -> str:
    prefix = event_type.split(".", 1)[0]
    return prefix.upper()


def stream_config(name: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=[STREAMS[name]],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the streams, or bring their configuration up to date; safe to run on every start."""
    for name in STREAMS:
        config = stream_config(name, replicas)
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


class Messaging:
    """A NATS connection that keeps trying: a service starts and takes writes while NATS is down.

    `generation` grows on every reconnect, so pull subscriptions know to re-create themselves
    (nats-py pull subscriptions can stall after a server restart).
    """

    def __init__(
        self, url: str, *, name: str, publish_window: int = 256, stream_replicas: int = 1
    ) -> None:
        self.url = url
        self.name = name
        self.publish_window = publish_window
        self.stream_replicas = stream_replicas
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.ready = asyncio.Event()
        self.generation = 0
        self._provisioning: asyncio.Task[bool] | None = None

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def connect(self) -> None:
        """Connect, retrying until the server answers; then provision streams."""
        delay = 0.2
        while True:
            try:
                self.nc = await nats.connect(
                    self.url,
                    name=self.name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    reconnected_cb=self._reconnected,
                    disconnected_cb=self._disconnected,
                    error_cb=self._error,
                )
                break
            except (OSError, nats.errors.Error, TimeoutError) as exc:
                log.warning("NATS not reachable yet: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.renew_jetstream()
        while True:
            if await self.provision():
                break
            await asyncio.sleep(1.0)
        self.ready.set()

    def renew_jetstream(self) -> None:
        assert self.nc is not None
        self.js = self.nc.jetstream(publish_async_max_pending=self.publish_window)

    async def provision(self) -> bool:
        """Create or update the streams; False (logged) if NATS would not, for now."""
        assert self.js is not None
        try:
            await ensure_streams(self.js, self.stream_replicas)
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("could not provision streams: %s", exc)
            return False
        return True

    async def _reconnected(self) -> None:
        self.generation += 1
        log.info("NATS reconnected", extra={"generation": self.generation})
        # The server may have come back empty (a new node, a lost volume): streams first.
        if self.js is not None:
            self._provisioning = asyncio.create_task(self.provision())

    async def _disconnected(self) -> None:
        log.warning("NATS disconnected")

    async def _error(self, exc: Exception) -> None:
        log.warning("NATS error: %s", exc)

    async def close(self) -> None:
        if self._provisioning is not None:
            self._provisioning.cancel()
        # close, not drain: nothing here needs draining (the relay marks rows only once acked,
        # an unacked message is redelivered), and drain waits out open pull requests.
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()
