import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway import api
from gateway.identity import api as identity_api
from gateway.identity import tokens
from gateway.identity.exchange import ApiKeyExchange
from gateway.identity.sessions import EndedSessions, SessionCheck
from gateway.proxy import ProxyMiddleware, Upstreams
from gateway.ratelimit import RateLimitMiddleware
from gateway.settings import SERVICES, GatewaySettings
from services.common.auth import KeySet, jwks_over_http
from services.common.kernel import create_service_app
from services.common.middleware import BodyLimit
from services.common.sensitive import SensitiveData

READY_TIMEOUT_SECONDS = 3.0


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    upstreams = Upstreams(
        settings.upstream_urls(),
        connect_timeout=settings.upstream_connect_timeout_seconds,
        timeout=settings.upstream_timeout_seconds,
        pool_size=settings.upstream_pool_size,
    )
    policy = settings.policy()
    limits = settings.rate_limits()
    app = create_service_app(
        settings,
        title="Zhucun 驻村 API",
        description="The one API of the system: the gateway's routes and every service's.",
        routers=[api.router, identity_api.router, identity_api.users, identity_api.identity],
        route_prefix="/api/v1",
        # Innermost first: an API key becomes a token, the token's caller is rate-limited, a
        # token of an ended sign-in is refused, then the request goes to a service or to the
        # gateway's own routes.
        inner_middleware=[
            Middleware(ProxyMiddleware, services=SERVICES),
            Middleware(SessionCheck),
            Middleware(RateLimitMiddleware, limits=limits),
            Middleware(
                ApiKeyExchange,
                limits=limits,
                token_ttl=timedelta(minutes=settings.api_key_token_minutes),
                recheck_seconds=settings.api_key_recheck_seconds,
                touch_every=timedelta(seconds=settings.api_key_touch_seconds),
            ),
        ],
        body_limits={path: BodyLimit(size) for path, size in settings.body_limits.items()},
        behind_gateway=False,  # it is the gateway: its own routes record the socket peer
    )
    app.state.upstreams = upstreams
    app.state.vault = SensitiveData(settings.data_keys, settings.hash_key)
    app.state.policy = policy
    app.state.jwks = tokens.PublishedKeys(app.state.kernel.db, policy.access_ttl)
    kernel = app.state.kernel
    # The gateway verifies tokens (to rate-limit each user) with its keys read from its own
    # database, not over HTTP from itself.
    kernel.auth.keys = KeySet(
        tokens.own_keys(
            kernel.db,
            policy.access_ttl,
            also=jwks_over_http(settings.auth_jwks_url) if settings.auth_jwks_url else None,
        ),
        refetch_after=settings.auth_keys_refetch_seconds,
    )
    ended = EndedSessions(kernel.db, policy.access_ttl, every=settings.session_recheck_seconds)
    app.state.ended_sessions = ended
    kernel.on_start += [upstreams.start, ended.start]
    kernel.on_stop += [upstreams.close, ended.stop]
    kernel.readiness_checks.append(_services_ready(upstreams))
    return app


def _services_ready(upstreams: Upstreams) -> Callable[[], Awaitable[dict[str, str]]]:
    async def one(service: str) -> tuple[str, str]:
        try:
            await asyncio.wait_for(upstreams.get_json(service, "/readyz"), READY_TIMEOUT_SECONDS)
            return service, "ok"
        except Exception as exc:  # any failure is "not ready", reported, never raised
            return service, f"not ready: {type(exc).__name__}"

    async def check() -> dict[str, str]:
        return dict(await asyncio.gather(*(one(s) for s in upstreams.urls)))

    return check
