"""Engine, sessions and the one transaction per request.

Service functions take the session and never commit: the request dependency (or the consumer
and job wrappers) opens the transaction and commits it before the response leaves.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

from services.common.errors import Problem

# One naming convention for every constraint in every service (CONVENTIONS.md, Data).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def async_url(url: str) -> str:
    """The SQLAlchemy URL for asyncpg, whatever driver the configured URL names."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def on_database(server_url: str, database: str) -> str:
    """The URL of `database` on the server `server_url` names, as the same user."""
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """The libpq-style URL asyncpg itself accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_if_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend) is replaced
    on checkout: asyncpg knows it without a round trip, unlike a pre-ping."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


class Database:
    """A service's own database: a pooled engine and a session factory."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        # A fixed pool: overflow connections opened and closed under load cost more than the
        # wait for a pooled one (measured: connection set-up showed in the check-in profile).
        self.engine: AsyncEngine = create_async_engine(
            async_url(url), pool_size=pool_size, max_overflow=0, pool_timeout=10
        )
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        event.listen(self.engine.sync_engine, "checkout", _drop_if_closed)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block ends, rolled back on error,
        except a refusal that is itself a fact to keep (`Problem(keep_changes=True)`: a
        failed sign-in that counts towards a lock)."""
        async with self.sessions() as session:
            transaction = await session.begin()
            try:
                yield session
            except Problem as problem:
                await (transaction.commit() if problem.keep_changes else transaction.rollback())
                raise
            except BaseException:
                await transaction.rollback()
                raise
            await transaction.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction: hot statements run on it
    directly, skipping the ORM's per-statement cost, and commit or roll back with the session.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement; a raw
    statement before that would run outside the transaction. So BEGIN is sent here if it has
    not been (tests/common/test_db.py holds the adapter to this).
    """
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    if adapted._transaction is None:  # type: ignore[union-attr]
        await adapted._start_transaction()  # type: ignore[union-attr]
    return adapted.driver_connection  # type: ignore[union-attr]


_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def lock(session: AsyncSession, key: str) -> None:
    """Hold a lock named `key` until the transaction ends: two requests that check and then
    write the same thing (a village's first secretary, a cadre's leave) take turns."""
    await session.execute(_LOCK, {"key": key})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.kernel.db.transaction() as session:
        yield session


# scope="function": the commit runs when the route returns, before the response is sent, so a
# 2xx is only ever sent for a committed write.
Session = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def database_exists(url: str) -> bool:
    """Whether the database `url` names exists on its server."""
    target = make_url(url)
    admin = plain_url(target.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(admin)
    try:
        return bool(
            await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target.database)
        )
    finally:
        await conn.close()


async def ensure_database(url: str) -> bool:
    """Create the database `url` names if it does not exist; True if it was created."""
    if await database_exists(url):
        return False
    target = make_url(url)
    admin = plain_url(target.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(admin)
    try:
        try:
            await conn.execute(f'CREATE DATABASE "{target.database}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            return False  # another replica created it a moment ago
        return True
    finally:
        await conn.close()
