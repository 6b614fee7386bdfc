"""Plain ASGI middleware (BaseHTTPMiddleware costs too much per request): request id, client
address, body limit, one log line per request."""

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import context
from services.common.errors import BodyTooLarge, PayloadTooLarge, Problem, problem_response

log = logging.getLogger("zhucun.request")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def client_address(scope: Scope, *, behind_gateway: bool) -> str | None:
    """Where the request came from, for the audit log.

    Behind the gateway a service's peer is the gateway, which appends the client it saw as the
    LAST entry of X-Forwarded-For (gateway/proxy.py): that entry is trusted, and only that one,
    since earlier entries are whatever the client sent. The trust assumption: services are only
    reachable through the gateway (a client that could reach a service directly could name any
    address). The gateway itself trusts no header: its own routes record its socket peer.
    """
    if behind_gateway:
        forwarded = None
        for key, value in scope["headers"]:
            if key == b"x-forwarded-for":
                forwarded = value  # the last header if there are several
        if forwarded:
            return forwarded.decode("latin-1").rsplit(",", 1)[-1].strip()[:64] or None
    peer = scope.get("client")
    return peer[0] if peer else None


async def note_route(request: Request) -> None:
    """An app-wide dependency: the route template once routing matched, for the audit log
    (every route, the public sign-in routes too), "GET /api/v1/attendance/checkins/{id}".

    The matched route knows its path within its router only; the router's prefix (literal in
    every app here) is the part of the request's path before the segments the route matched.
    """
    local = request.scope["route"].path_format
    path = request.scope["path"].split("/")
    prefix = "/".join(path[: len(path) - local.count("/")])
    context.route.set(f"{request.method} {prefix}{local}")


@dataclass(frozen=True)
class BodyLimit:
    """How large a body may be, and the problem a larger one gets."""

    max_bytes: int
    too_large: Callable[[], Problem] = PayloadTooLarge


class RequestContextMiddleware:
    """Takes or makes `X-Request-ID`, echoes it, notes the client address, refuses bodies over
    the limit, logs the request. `body_limits`: the paths whose bodies have a limit of their
    own (a photo upload takes more than a JSON body), by the exact path. `behind_gateway`: see
    `client_address`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = 1_048_576,
        body_limits: Mapping[str, BodyLimit] | None = None,
        behind_gateway: bool = True,
    ) -> None:
        self.app = app
        self.limit = BodyLimit(max_body_bytes)
        self.body_limits = dict(body_limits or {})
        self.behind_gateway = behind_gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given.decode("latin-1")[:128] if given else uuid.uuid4().hex
        token = context.request_id.set(request_id)
        # Set here and reset below, so nothing of one request is seen by the next one run in
        # the same context (an in-process test client runs them all in one).
        client = context.client.set(client_address(scope, behind_gateway=self.behind_gateway))
        route, user = context.route.set(None), context.user_id.set(None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            limit = self.body_limits.get(scope["path"], self.limit)
            length = _header(scope, b"content-length")
            if length is not None and length.isdigit() and int(length) > limit.max_bytes:
                await problem_response(limit.too_large())(scope, receive, send_with_id)
                return
            await self.app(scope, _limited(receive, limit), send_with_id)
        finally:
            log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            context.request_id.reset(token)
            context.client.reset(client)
            context.route.reset(route)
            context.user_id.reset(user)


def _limited(receive: Receive, limit: BodyLimit) -> Receive:
    """Counts a streamed body too: a chunked upload cannot slip past the limit."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit.max_bytes:
                raise BodyTooLarge(limit.too_large())  # the error handler answers its problem
        return message

    return limited
