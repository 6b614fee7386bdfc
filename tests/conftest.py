"""Fixtures for the services' tests: each app on its own fresh database and the session's NATS."""

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from services.attendance.app import create_app as attendance_app
from services.attendance.settings import AttendanceSettings
from services.common.testing import FAST_SETTINGS, TokenIssuer, serving
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings


@pytest.fixture
async def attendance_db(database: Callable[[str], Awaitable[str]]) -> str:
    return await database("attendance")


@pytest.fixture
async def notify_db(database: Callable[[str], Awaitable[str]]) -> str:
    return await database("notify")


@pytest.fixture
async def attendance(
    attendance_db: str, nats_url: str, issuer: TokenIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    """Attendance, driven by a county admin unless a request says otherwise."""
    settings = AttendanceSettings(
        database_url=attendance_db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    async with serving(attendance_app(settings)) as client:
        client.headers.update(issuer.headers("county_admin"))
        yield client


@pytest.fixture
async def notify(
    notify_db: str, nats_url: str, issuer: TokenIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = NotifySettings(
        database_url=notify_db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    async with serving(notify_app(settings)) as client:
        client.headers.update(issuer.headers("county_admin"))
        yield client
