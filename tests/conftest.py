"""Fixtures for the services' tests: each app on its own fresh database and the session's NATS,
trusting the test's token issuer, driven by a county admin unless a request says otherwise."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from services.attendance.app import create_app as attendance_app
from services.attendance.settings import AttendanceSettings
from services.common.testing import FAST_SETTINGS, TokenIssuer, serving
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings

# The dispatcher looks for due messages often, and retries soon, so tests see them sent.
NOTIFY_FAST = {"dispatch_poll_seconds": 0.05, "send_backoff_seconds": (0.1, 0.2, 0.3)}


@pytest.fixture
async def attendance_db(database: Callable[[str], Awaitable[str]]) -> str:
    return await database("attendance")


@pytest.fixture
async def notify_db(database: Callable[[str], Awaitable[str]]) -> str:
    return await database("notify")


@pytest.fixture
async def gateway_db(database: Callable[[str], Awaitable[str]]) -> str:
    return await database("gateway")


@asynccontextmanager
async def client_of(
    create_app, settings_class, db: str, nats_url: str, issuer: TokenIssuer, **overrides
):
    settings = settings_class(
        database_url=db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS, **overrides
    )
    async with serving(create_app(settings)) as client:
        client.headers.update(issuer.headers("county_admin"))
        yield client


@pytest.fixture
async def attendance(attendance_db, nats_url, issuer) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(attendance_app, AttendanceSettings, attendance_db, nats_url, issuer) as c:
        yield c


@pytest.fixture
async def notify(notify_db, nats_url, issuer) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(
        notify_app, NotifySettings, notify_db, nats_url, issuer, **NOTIFY_FAST
    ) as c:
        yield c
