"""A service process: its database, NATS, outbox relay, consumers and jobs, and the app around them.

Every service's `create_app` is a call to `create_service_app`, so every service starts, stops,
logs, answers errors and reports health the same way.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.middleware import Middleware

from services.common import audit, operations
from services.common.auth import Authenticator, KeySet, jwks_over_http
from services.common.consumer import ConsumerRunner, Handler
from services.common.db import Database
from services.common.errors import install_error_handlers
from services.common.health import router as health_router
from services.common.jobs import Job, JobScheduler
from services.common.logging import configure_logging
from services.common.messaging import Messaging
from services.common.middleware import BodyLimit, RequestContextMiddleware, note_route
from services.common.relay import OutboxRelay
from services.common.settings import ServiceSettings

log = logging.getLogger(__name__)


class Kernel:
    """The running parts of one service process."""

    def __init__(
        self, settings: ServiceSettings, handlers: Sequence[Handler], jobs: Sequence[Job]
    ) -> None:
        self.settings = settings
        # The county's time zone: the calendar days that rules about days are judged in.
        self.timezone = ZoneInfo(settings.timezone)
        name = settings.service_name
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size)
        self.messaging = Messaging(
            settings.nats_url,
            name=name,
            publish_window=settings.relay_window,
            stream_replicas=settings.stream_replicas,
        )
        self.relay = OutboxRelay(
            self.db,
            self.messaging,
            batch=min(settings.relay_batch, settings.relay_window),
            poll_seconds=settings.relay_poll_seconds,
            ack_timeout=settings.relay_ack_timeout_seconds,
            keep_seconds=settings.outbox_keep_hours * 3600,
        )
        self.consumers = ConsumerRunner(
            name,
            self.db,
            self.messaging,
            handlers,
            batch=settings.consumer_batch,
            max_deliveries=settings.consumer_max_deliveries,
            backoff=settings.consumer_backoff_seconds,
            ack_wait=settings.consumer_ack_wait_seconds,
            fetch_timeout=settings.consumer_fetch_timeout_seconds,
        )
        self.jobs = JobScheduler(
            self.db,
            [*jobs, audit.prune_job(settings.audit_keep_days)],
            timezone=settings.timezone,
            tick_seconds=settings.jobs_tick_seconds,
            catch_up=settings.jobs_catch_up_periods,
            max_attempts=settings.jobs_max_attempts,
        )
        self.auth = Authenticator(
            KeySet(
                jwks_over_http(settings.auth_jwks_url),
                refetch_after=settings.auth_keys_refetch_seconds,
            )
        )
        self._tasks: list[asyncio.Task[Any]] = []
        # More readiness checks (the gateway asks the services): name -> "ok" or why not.
        self.readiness_checks: list[Callable[[], Awaitable[dict[str, str]]]] = []
        # Resources an app adds (the gateway's client pool), opened and closed with the kernel.
        self.on_start: list[Callable[[], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        """Start the background parts; none of them waits for NATS, so writes work without it."""
        for hook in self.on_start:
            await hook()
        self._tasks = [
            asyncio.create_task(self.messaging.connect(), name="nats-connect"),
            asyncio.create_task(self.relay.run(), name="outbox-relay"),
            asyncio.create_task(self.consumers.run(), name="consumers"),
        ]
        if self.settings.jobs_enabled:
            self._tasks.append(asyncio.create_task(self.jobs.run(), name="jobs"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a task stuck on a dead connection must not hold the shutdown forever.
            await asyncio.wait(self._tasks, timeout=10)
        for hook in self.on_stop:
            await hook()
        await self.messaging.close()
        await self.db.dispose()


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    handlers: Sequence[Handler] = (),
    jobs: Sequence[Job] = (),
    route_prefix: str | None = None,
    inner_middleware: Sequence[Middleware] = (),
    body_limits: Mapping[str, BodyLimit] | None = None,
    behind_gateway: bool = True,
) -> FastAPI:
    """The app of one service: routes under `/api/v1/<service>` unless `route_prefix` says.
    `body_limits`: paths (whole) whose bodies may be larger than `max_body_bytes`, or get
    another problem when too large (a photo upload). `behind_gateway`: the client address is
    the gateway's X-Forwarded-For, not the peer (the gateway itself says False; see
    middleware.client_address)."""
    configure_logging(settings.service_name, settings.log_level)
    kernel = Kernel(settings, handlers, jobs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await kernel.start()
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            await kernel.stop()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url=f"/api/v1/{settings.service_name}/openapi.json",
        docs_url=f"/api/v1/{settings.service_name}/docs",
        redoc_url=None,
        dependencies=[Depends(note_route)],  # the audit log's "which route", on every route
    )
    app.state.kernel = kernel
    install_error_handlers(app)
    for middleware in inner_middleware:
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_limits=body_limits,
        behind_gateway=behind_gateway,
    )
    app.include_router(health_router)
    own_prefix = f"/api/v1/{settings.service_name}"
    for router in routers:
        app.include_router(router, prefix=own_prefix if route_prefix is None else route_prefix)
    app.include_router(operations.router, prefix=own_prefix)
    app.include_router(audit.router, prefix=own_prefix)
    return app


async def _county_timezone(request: Request) -> ZoneInfo:
    # async, as every dependency here: FastAPI runs a plain `def` one in a thread per request
    # (measured: a fifth of a check-in's CPU went to the thread hop).
    return request.app.state.kernel.timezone


# A route's dependency: the county's time zone (settings.timezone, default Asia/Shanghai), in
# which a moment becomes the county's calendar day (CONVENTIONS.md, Data).
CountyTimezone = Annotated[ZoneInfo, Depends(_county_timezone)]
