"""The hop to the services: one pooled aiohttp client, bodies streamed both ways.

aiohttp rather than httpx here: on this machine a proxy hop passed ~500 req/s with a stock
httpx.AsyncClient (encode/httpx#3215) and ~1,600 with aiohttp. Written as plain ASGI middleware
because Starlette's BaseHTTPMiddleware costs much per request.
"""

import logging
from collections.abc import AsyncIterator

import aiohttp
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common import context
from services.common.errors import (
    PayloadTooLarge,
    UpstreamFailed,
    UpstreamTimeout,
    problem_response,
)

log = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 7.6.1) are the hop's own and never forwarded.
_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"host",
}
# The gateway's own server writes these; forwarding the service's would send them twice.
_OWN = {b"date", b"server", b"x-request-id"}


class Upstreams:
    """The services' base URLs and the one client pool that reaches them."""

    def __init__(
        self, urls: dict[str, str], *, connect_timeout: float, timeout: float, pool_size: int
    ) -> None:
        self.urls = urls
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=timeout
        )
        self.pool_size = pool_size
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.pool_size, keepalive_timeout=30),
            timeout=self.timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def get_json(self, service: str, path: str) -> dict:
        assert self.session is not None
        async with self.session.get(f"{self.urls[service]}{path}") as response:
            response.raise_for_status()
            return await response.json()

    async def forward(self, service: str, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.session is not None
        url = self.urls[service] + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        chain: list[str] = []  # X-Forwarded-For: earlier hops in order, then this client
        headers = [("X-Request-ID", context.request_id.get() or "")]
        for key, value in scope["headers"]:
            if key in _HOP or key == b"x-request-id":
                continue
            if key == b"x-forwarded-for":
                chain.append(value.decode("latin-1"))
                continue
            headers.append((key.decode("latin-1"), value.decode("latin-1")))
        if scope.get("client"):
            chain.append(scope["client"][0])
        if chain:
            headers.append(("X-Forwarded-For", ", ".join(chain)))
        has_body = any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        body = _RequestBody(receive) if has_body else None
        started = False
        try:
            async with self.session.request(
                scope["method"],
                url,
                headers=headers,
                data=body.chunks() if body else None,
                allow_redirects=False,
            ) as upstream:
                response_headers = [
                    (k.lower(), v)
                    for k, v in upstream.raw_headers
                    if k.lower() not in _HOP and k.lower() not in _OWN
                ]
                await send(
                    {
                        "type": "http.response.start",
                        "status": upstream.status,
                        "headers": response_headers,
                    }
                )
                started = True
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
        except (TimeoutError, aiohttp.ServerTimeoutError):
            log.warning("%s did not answer in time", service)
            if not started:
                await problem_response(
                    UpstreamTimeout(f"{service} 服务响应超时", code="upstream_timeout")
                )(scope, receive, send)
        except aiohttp.ClientError as exc:
            if started:
                log.warning("%s broke off its answer: %r", service, exc)
            elif body is not None and body.too_large:
                # aiohttp reports the body's own error as a connection error; it was ours.
                await problem_response(PayloadTooLarge())(scope, receive, send)
            else:
                log.warning("%s unreachable: %r", service, exc)
                await problem_response(
                    UpstreamFailed(f"{service} 服务不可用", code="upstream_unavailable")
                )(scope, receive, send)


class _RequestBody:
    """The client's body, streamed to the service as it arrives; remembers when it went over
    the size limit (the request middleware's receive raises a 413 then)."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.too_large = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            try:
                message = await self.receive()
            except HTTPException as exc:
                self.too_large = exc.status_code == 413
                raise
            if message["type"] == "http.disconnect":
                return  # the client went away; the service sees a short body
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


class ProxyMiddleware:
    """Sends `/api/v1/<service>/...` to that service; everything else to the gateway's own app."""

    def __init__(self, app: ASGIApp, *, services: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = {f"/api/v1/{s}": s for s in services}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            head = path[: path.find("/", 8)] if path.find("/", 8) > 0 else path
            service = self.prefixes.get(head)
            if service is not None:
                await scope["app"].state.upstreams.forward(service, scope, receive, send)
                return
        await self.app(scope, receive, send)
