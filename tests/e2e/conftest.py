"""The whole system as real processes, started the way `make run` starts it."""

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt

from services.common.db import plain_url
from services.common.devservers import free_port
from tests.attendance.factories import checkin_body
from zhucun import seed
from zhucun.stack import APPS, SERVICES, Stack


def make_stack(
    data_dir: Path, pg_url: str, runtime_url: str, nats_url: str = "", **options
) -> Stack:
    """A stack on free ports and databases of its own, migrated as the owner (`pg_url`) and
    served as the runtime role (`runtime_url`); NATS of its own unless `nats_url`."""
    return Stack(
        data_dir=data_dir,
        gateway_port=free_port(),
        service_ports={name: free_port() for name in SERVICES},
        nats_port=free_port(),
        database_url=runtime_url,
        migration_database_url=pg_url,
        nats_url=nats_url,
        database_prefix=f"e2e_{uuid.uuid4().hex[:8]}",
        **options,
    )


def running(stack: Stack) -> Iterator[Stack]:
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        asyncio.run(drop_databases(stack))


async def drop_databases(stack: Stack) -> None:
    conn = await asyncpg.connect(plain_url(stack.migration_database_url))
    try:
        for name in APPS:
            await conn.execute(
                f'DROP DATABASE IF EXISTS "{stack.database_prefix}_{name}" WITH (FORCE)'
            )
    finally:
        await conn.close()


@dataclass(frozen=True)
class Cadre:
    """A demo user signed in through the gateway: their headers and their user id."""

    headers: dict[str, str]
    user_id: str
    region_code: str = "511529100201"

    def checkin(self, **overrides: Any) -> dict[str, Any]:
        return checkin_body(cadre_id=self.user_id, region_code=self.region_code, **overrides)


def sign_in(gateway_url: str, login: str) -> Cadre:
    response = httpx.post(
        f"{gateway_url}/api/v1/auth/token",
        data={"username": login, "password": seed.DEMO_PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    return Cadre({"Authorization": f"Bearer {token}"}, claims["sub"])
