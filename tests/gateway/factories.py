"""Users of the gateway for its tests, and their sign-ins."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import service
from gateway.identity.schemas import UserCreate
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.sensitive import SensitiveData
from services.common.testing import FAST_SETTINGS

PASSWORD = "Zhu-cun-2026!"
DEMO_COUNTY = "511529000000"  # 屏山县


def gateway_settings(database_url: str, nats_url: str, **overrides: object) -> GatewaySettings:
    """The gateway's settings for a test: its database, the session's NATS, fast timings."""
    return GatewaySettings(
        database_url=database_url, nats_url=nats_url, **{**FAST_SETTINGS, **overrides}
    )


@asynccontextmanager
async def transaction(url: str) -> AsyncIterator[AsyncSession]:
    """A session on the database `url` names, in a transaction committed when the block ends."""
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            yield session
    finally:
        await db.dispose()


async def make_user(
    settings: GatewaySettings,
    login: str = "zhang.wei",
    *,
    region_code: str = DEMO_COUNTY,
    roles: tuple[str, ...] = ("county_admin",),
    phone: str | None = None,
    vault: SensitiveData | None = None,
) -> UUID:
    """A user in the gateway's database (its tables exist), their phone sealed by `vault` (by
    default the settings' keys); their id."""
    async with transaction(settings.database_url) as session:
        user = await service.create_user(
            session,
            UserCreate(
                login=login,
                display_name=login,
                region_code=region_code,
                roles=list(roles),
                phone=phone,
                password=PASSWORD,
            ),
            vault or SensitiveData(settings.data_keys, settings.hash_key),
        )
    return user.id


async def signed_in(gateway: httpx.AsyncClient, login: str = "zhang.wei") -> dict[str, str]:
    """The headers of `login` signed in through POST /api/v1/auth/token."""
    response = await sign_in(gateway, login=login)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def sign_in(
    gateway: httpx.AsyncClient, password: str = PASSWORD, login: str = "li.ming"
) -> httpx.Response:
    """POST /api/v1/auth/token with the password form, as a client signs in."""
    return await gateway.post("/api/v1/auth/token", data={"username": login, "password": password})
