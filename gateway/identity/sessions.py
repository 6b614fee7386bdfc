"""Sign-ins that have ended (logout, a reused refresh token, deactivation, a new password) end
their access tokens too, at once, not when the tokens expire up to 15 minutes later.

Every access token names its sign-in (`sid`, its refresh-token family). The gateway keeps the
families revoked within an access token's lifetime (older ones' tokens have expired anyway),
read again from its database every few seconds by one task, and refuses their tokens before a
request reaches a route or a service. Services are reached only through the gateway, so this
one check covers them all. Plain ASGI, like the proxy.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.identity.models import RefreshToken
from services.common.auth import bearer_token
from services.common.db import Database
from services.common.errors import DATABASE_ERRORS, Unauthorized, problem_response

log = logging.getLogger(__name__)
# Where a client with an ended sign-in goes next, its old token perhaps still in its headers.
_SIGNING_IN = {"/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout"}


class EndedSessions:
    """The sign-ins ended within the last `lifetime` (an access token's), kept fresh by `run`."""

    def __init__(self, db: Database, lifetime: timedelta, *, every: float) -> None:
        self.db = db
        self.lifetime = lifetime
        self.every = every
        self.ended: frozenset[UUID] = frozenset()
        self._task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        since = datetime.now(UTC) - self.lifetime
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(RefreshToken.family_id)
                .where(RefreshToken.revoked_at > since)  # type: ignore[operator]
                .distinct()
            )
            self.ended = frozenset(rows.scalars())

    async def run(self) -> None:
        while True:
            try:
                await self.read()
            except DATABASE_ERRORS as exc:  # the database is away: keep what is known
                log.warning("ended sign-ins not read: %r", exc)
            await asyncio.sleep(self.every)

    async def start(self) -> None:
        # Not awaited here: the gateway starts even while its database is away.
        self._task = asyncio.create_task(self.run(), name="ended-sessions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class SessionCheck:
    """401 for a token whose sign-in has ended; anything else passes on (an invalid token is
    the route's or the service's to refuse)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checked = scope["type"] == "http" and scope["path"] not in _SIGNING_IN
        ended = scope["app"].state.ended_sessions.ended if checked else None
        token = bearer_token(scope) if ended else None
        if token is not None:
            try:
                caller = await scope["app"].state.kernel.auth.caller(token)
            except Unauthorized:
                caller = None
            if caller is not None and caller.session_id in ended:
                refused = Unauthorized("登录已失效，请重新登录", code="session_ended")
                await problem_response(refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)
