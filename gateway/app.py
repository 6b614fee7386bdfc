import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway import api
from gateway.identity import api as identity_api
from gateway.proxy import ProxyMiddleware, Upstreams
from gateway.settings import SERVICES, GatewaySettings
from services.common.kernel import create_service_app
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
    app = create_service_app(
        settings,
        title="Zhucun 驻村 API",
        description="The one API of the system: the gateway's routes and every service's.",
        routers=[api.router, identity_api.router],
        route_prefix="/api/v1",
        inner_middleware=[Middleware(ProxyMiddleware, services=SERVICES)],
        behind_gateway=False,  # it is the gateway: its own routes record the socket peer
    )
    app.state.upstreams = upstreams
    app.state.vault = SensitiveData(settings.data_keys, settings.hash_key)
    app.state.policy = settings.policy()
    kernel = app.state.kernel
    kernel.on_start.append(upstreams.start)
    kernel.on_stop.append(upstreams.close)
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
