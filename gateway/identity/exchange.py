"""The gateway turns an integration's API key into a short-lived internal token for the hop,
so that the services (and the gateway's own routes) verify one kind of credential.

A client sends `X-API-Key: <secret>` or `Authorization: ApiKey <secret>` to any route. What a
secret names is kept in memory and checked with the database again every few seconds: a busy
integration does not query the database on every request, and a revoked key is refused within
those seconds. Its token is kept until shortly before it expires. Plain ASGI, like the proxy.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.identity import service
from gateway.ratelimit import RateLimits, too_many
from services.common.errors import (
    DATABASE_ERRORS,
    Unauthorized,
    database_problem,
    problem_response,
    unreadable,
)
from services.common.sensitive import DecryptionFailed


@dataclass(frozen=True)
class _Exchanged:
    """What a secret was found to be at `checked`: a live key's token (and when that expires),
    or None for a secret that names no live key."""

    token: str | None
    expires: float
    checked: float


def _secret(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"x-api-key":
            return value.decode("latin-1").strip()
        if key == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            if scheme.lower() == "apikey":
                return secret.strip()
    return None


class ApiKeyExchange:
    """Replaces an API key with `Authorization: Bearer <internal token>`; 401 for a key that is
    unknown or revoked."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RateLimits,
        token_ttl: timedelta,
        recheck_seconds: float,
        touch_every: timedelta,
        remember: int = 10_000,
    ) -> None:
        self.app = app
        self.limits = limits
        self.token_ttl = token_ttl
        # A token is renewed once it has less than a fifth of its life left.
        self.renew_before = token_ttl.total_seconds() / 5
        self.recheck_seconds = recheck_seconds
        self.touch_every = touch_every
        self.remember = remember
        self._known: dict[str, _Exchanged] = {}
        self._checking: dict[str, asyncio.Task[_Exchanged]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = _secret(scope) if scope["type"] == "http" else None
        if secret is None:
            await self.app(scope, receive, send)
            return
        known = self._known.get(secret)
        if known is None or time.monotonic() - known.checked > self.recheck_seconds:
            # A check costs a query: secrets that name nothing are limited like anonymous
            # requests, so guessing keys cannot flood the database.
            wait = self.limits.anonymous_wait(scope)
            if wait > 0:
                await problem_response(too_many(wait))(scope, receive, send)
                return
            try:
                known = await self._check_once(secret, known, scope)
            except DATABASE_ERRORS as exc:
                await problem_response(database_problem(exc))(scope, receive, send)
                return
            except DecryptionFailed as exc:  # the signing key, under a data key not configured
                await problem_response(unreadable(exc))(scope, receive, send)
                return
        if known.token is None:
            refused = Unauthorized("接口密钥无效或已吊销", code="invalid_api_key")
            await problem_response(refused)(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"x-api-key", b"authorization")]
        headers.append((b"authorization", f"Bearer {known.token}".encode("latin-1")))
        await self.app({**scope, "headers": headers}, receive, send)

    async def _check_once(self, secret: str, known: _Exchanged | None, scope: Scope) -> _Exchanged:
        """One check at a time per secret: requests arriving meanwhile wait for its answer."""
        checking = self._checking.get(secret)
        if checking is None:
            checking = asyncio.create_task(self._check(secret, known, scope))
            self._checking[secret] = checking
            checking.add_done_callback(lambda _: self._checking.pop(secret, None))
        # Shielded: a client that goes away does not cancel the check the others wait on.
        return await asyncio.shield(checking)

    async def _check(self, secret: str, known: _Exchanged | None, scope: Scope) -> _Exchanged:
        state = scope["app"].state
        now = time.monotonic()
        async with state.kernel.db.transaction() as session:
            key = await service.api_key_by_secret(session, secret, self.touch_every)
            if key is None:
                exchanged = _Exchanged(token=None, expires=0.0, checked=now)
            elif known is not None and known.token and known.expires - now > self.renew_before:
                exchanged = _Exchanged(token=known.token, expires=known.expires, checked=now)
            else:
                token = await service.api_key_token(session, key, state.vault, self.token_ttl)
                expires = now + self.token_ttl.total_seconds()
                exchanged = _Exchanged(token=token, expires=expires, checked=now)
        if secret not in self._known and len(self._known) >= self.remember:
            self._known.pop(next(iter(self._known)))  # the oldest goes first
        self._known[secret] = exchanged
        return exchanged
