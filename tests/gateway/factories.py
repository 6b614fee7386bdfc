"""Users of the gateway for its tests, and their sign-ins."""

from uuid import UUID

import httpx

from gateway.identity import service
from gateway.identity.schemas import UserCreate
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.sensitive import SensitiveData

PASSWORD = "Zhu-cun-2026!"
DEMO_COUNTY = "511529000000"  # 屏山县


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
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.transaction() as session:
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
    finally:
        await db.dispose()
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
