"""Who is calling: access tokens verified with the gateway's public keys, permissions checked,
and the caller's region scope applied to every query.

Services verify one kind of credential, the gateway's short-lived EdDSA token: an integration's
API key is exchanged for one at the gateway, whose `permissions` claim narrows the key's role.
Keys come from the gateway's JWKS route (the gateway itself reads them from its database),
cached; a token naming a key not seen yet refetches them (a rotation), at most every few
seconds.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from uuid import UUID

import httpx
import jwt
from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Scope

from services.common import context
from services.common.errors import Forbidden, NotFound, Unauthorized
from services.common.permissions import Permission, permissions_of

log = logging.getLogger(__name__)
T = TypeVar("T")
S = TypeVar("S")
R = TypeVar("R")

ALGORITHM = "EdDSA"
ISSUER = "zhucun-gateway"
AUDIENCE = "zhucun"
# The claim of a token minted for an API key: the permissions the key was given.
PERMISSIONS_CLAIM = "permissions"


@dataclass(frozen=True)
class Caller:
    """The verified caller: who, with which roles, over which region (a division-code prefix).
    An integration's API key is a caller too (`kind="api_key"`, `user_id` the key's id)."""

    user_id: UUID
    roles: tuple[str, ...]
    scope: str
    permissions: frozenset[Permission]
    kind: Literal["user", "api_key"] = "user"
    # The sign-in the token belongs to (its refresh-token family): ended by logout,
    # deactivation or a new password, which the gateway then refuses (gateway/identity/sessions.py).
    session_id: UUID | None = None

    def covers(self, region_code: str) -> bool:
        return region_code.startswith(self.scope)


# Fetches a JWKS document ({"keys": [...]}); None when the keys cannot be had just now.
KeyFetch = Callable[[], Awaitable[dict[str, Any] | None]]


def jwks_over_http(url: str) -> KeyFetch:
    """The keys the gateway publishes at `url` (what every service verifies with)."""

    async def fetch() -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(url)
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError):
            return None

    return fetch


class KeySet:
    """The gateway's public keys by key id, fetched (from its JWKS route, or for the gateway
    itself from its database) and kept."""

    def __init__(self, fetch: KeyFetch, *, refetch_after: float = 5.0) -> None:
        self.fetch = fetch
        self.refetch_after = refetch_after
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -refetch_after
        self._lock = asyncio.Lock()

    def _may_refetch(self) -> bool:
        return time.monotonic() - self._fetched_at > self.refetch_after

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key `kid` names; an unknown one refetches the set (at most every few seconds)."""
        if kid not in self._keys:
            # Under the lock, so requests that arrive during a fetch wait for its keys.
            async with self._lock:
                if kid not in self._keys and self._may_refetch():
                    await self._refetch()
        return self._keys.get(kid)

    async def _refetch(self) -> None:
        self._fetched_at = time.monotonic()
        document = await self.fetch()
        if document is None:
            return  # the gateway is away: the keys already known still verify
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in document.get("keys", []):
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk)
            except (jwt.PyJWTError, KeyError, TypeError):
                log.warning("a key the JWKS publishes is unusable; skipped")
        self._keys = keys


class Authenticator:
    """Verifies tokens; a token already verified is remembered until it expires, since a
    client sends the same one with every request (verifying cost ~15% of a check-in)."""

    def __init__(self, keys: KeySet, *, remember: int = 10_000) -> None:
        self.keys = keys
        self.remember = remember
        self._verified: dict[str, tuple[Caller, float]] = {}

    async def caller(self, token: str) -> Caller:
        """The caller a token names, or 401: unsigned by a known key, expired, or malformed."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        caller, expires = await self._verify(token)
        if len(self._verified) >= self.remember:
            self._verified.pop(next(iter(self._verified)))  # the oldest goes first
        self._verified[token] = (caller, expires)
        return caller

    async def _verify(self, token: str) -> tuple[Caller, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self.keys.key(kid) if isinstance(kid, str) else None
            if key is None:
                raise Unauthorized("令牌的签名密钥未知", code="invalid_token")
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub"]},
            )
            roles = tuple(claims.get("roles", ()))
            permissions = permissions_of(roles)
            narrowed = claims.get(PERMISSIONS_CLAIM)
            if narrowed is not None:  # an API key's: never more than its role grants
                if not isinstance(narrowed, list):
                    raise TypeError(PERMISSIONS_CLAIM)
                permissions = frozenset(p for p in permissions if p.value in narrowed)
            caller = Caller(
                user_id=UUID(claims["sub"]),
                roles=roles,
                scope=str(claims["scope"]),
                permissions=permissions,
                kind="user" if narrowed is None else "api_key",
                session_id=UUID(claims["sid"]) if "sid" in claims else None,
            )
            return caller, float(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("令牌已过期", code="token_expired") from exc
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("令牌无效", code="invalid_token") from exc


# The token scheme as the API documents it: each route's permission appears as its OAuth2
# scope in the OpenAPI document (what a county's developer reads, and what the route-table
# test checks every route for).
bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scopes={p.value: p.name.lower().replace("_", " ") for p in Permission},
    auto_error=False,
)


async def _caller(
    request: Request, needed: SecurityScopes, token: str | None = Depends(bearer)
) -> Caller:
    if not token:
        raise Unauthorized(
            "需要登录", code="unauthenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    verified = await request.app.state.kernel.auth.caller(token)
    context.user_id.set(str(verified.user_id))
    if any(scope not in verified.permissions for scope in needed.scopes):
        raise Forbidden("无权执行此操作", code="permission_denied")
    return verified


def bearer_token(scope: Scope) -> str | None:
    """The bearer token of an ASGI request's Authorization header, if it has one (for the
    gateway's middleware, which looks at the caller before any route does)."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token else None
    return None


def require(permission: Permission) -> Any:
    """The dependency a route declares: the verified caller, who must hold `permission`."""
    return Security(_caller, scopes=[permission.value])


def view_for(caller: Caller, full: type[T], summary: type[S], *, needs: Permission) -> type[T | S]:
    """The response model the caller gets: `full` if they hold `needs`, else `summary`, so the
    fields a role does not need are not sent."""
    return full if needs in caller.permissions else summary


def scoped(
    statement: Select[Any],
    region_column: Any,
    caller: Caller,
    *,
    unplaced: bool = False,
    within: str | None = None,
) -> Select[Any]:
    """`statement` limited to the caller's region: what lies outside is as if it did not exist.
    `unplaced`: rows of no region at all (no place's data) are seen too. `within`: a list's own
    region filter (a code prefix), narrower or not than the caller's."""
    inside = region_column.startswith(caller.scope, autoescape=True)
    statement = statement.where(or_(inside, region_column.is_(None)) if unplaced else inside)
    if within is not None:
        statement = statement.where(region_column.startswith(within, autoescape=True))
    return statement


async def one_scoped(
    session: AsyncSession,
    model: type[R],
    record_id: Any,
    caller: Caller,
    missing: NotFound,
    *,
    for_update: bool = False,
) -> R:
    """The record of `model` with `record_id` (its primary key: an id, a photo's hash) if it
    lies within the caller's region; else `missing` (404), the same answer as for a record
    that does not exist."""
    (key,) = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    statement = scoped(
        select(model).where(key == record_id),
        model.region_code,  # type: ignore[attr-defined]
        caller,
    )
    if for_update:
        statement = statement.with_for_update()
    record = (await session.execute(statement)).scalar_one_or_none()
    if record is None:
        raise missing
    return record


def check_writable(caller: Caller, region_code: str) -> None:
    """A write to a region outside the caller's scope is refused (403)."""
    if not caller.covers(region_code):
        raise Forbidden("不能修改管辖范围以外的数据", code="outside_scope")
