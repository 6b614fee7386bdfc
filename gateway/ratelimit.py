"""Rate limits at the gateway: a token bucket per user, per API key, and per client address for
requests without a valid token (signing in included), so that one runaway client cannot crowd
out the rest. The defaults are far above what a cadre's phone, a dashboard or an integration
sends; over them, 429 problem+json with Retry-After.

The buckets live in the memory of each gateway replica: with N replicas behind a load balancer
a client may send up to N times the limit. Plain ASGI, like the proxy (gateway/proxy.py).
"""

import math
import posixpath
import time
from collections import OrderedDict
from collections.abc import Hashable

from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.auth import bearer_token
from services.common.errors import TooManyRequests, Unauthorized, problem_response

# Probes are not clients: a limit must never take a replica out of rotation. Nor are the
# services fetching the keys that verify tokens (after a rotation, all at once, from one
# address): a refused fetch would leave them refusing every new token. That route reads its
# database at most once a second (tokens.PublishedKeys), however often it is asked.
_UNLIMITED = {"/healthz", "/readyz", "/api/v1/auth/jwks"}
# The SMS and WeChat providers' pushes (receipts, replies) carry no token of ours: they come
# at a campaign's pace from a few of the provider's addresses, so they draw on buckets of
# their own, far larger than an anonymous caller's (notify checks their secret).
CALLBACKS = "/api/v1/notify/callbacks/"


class Buckets:
    """Token buckets, one per caller: `rate` requests a second, bursts of up to `burst`.

    Kept in order of last use; a bucket idle long enough to have refilled is the same as none,
    so it is dropped, and at most `most` are kept (the least recently used goes first)."""

    def __init__(self, rate: float, burst: int, *, most: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.most = most
        self._refilled_after = burst / rate
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def take(self, caller: Hashable) -> float:
        """0 if the caller's request may pass now (it takes a token), else the seconds to wait."""
        now = time.monotonic()
        self._evict(now)
        tokens, at = self._buckets.pop(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[caller] = (tokens, now)  # at the end: the most recently used
        return wait

    def __len__(self) -> int:
        return len(self._buckets)

    def _evict(self, now: float) -> None:
        while self._buckets:
            _, at = next(iter(self._buckets.values()))
            if now - at < self._refilled_after and len(self._buckets) < self.most:
                return  # the rest were used more recently still
            self._buckets.popitem(last=False)


class RateLimits:
    """The kinds of bucket, and which one a request draws on."""

    def __init__(
        self, *, user: Buckets, api_key: Buckets, anonymous: Buckets, callbacks: Buckets
    ) -> None:
        self.user = user
        self.api_key = api_key
        self.anonymous = anonymous
        self.callbacks = callbacks

    async def wait(self, scope: Scope) -> float:
        """Seconds the request must wait (0: it passes). The caller is the token's, verified as
        the services verify it; a request without a valid one (the services answer it 401) is
        its client address's; a provider's callback, its address's in the callbacks' buckets."""
        # normalised: `/callbacks/../contacts` is notify's contacts once the hop resolves it
        if f"{posixpath.normpath(scope['path'])}/".startswith(CALLBACKS):
            client = scope.get("client")
            return self.callbacks.take(client[0] if client else None)
        token = bearer_token(scope)
        if token is not None:
            try:
                caller = await scope["app"].state.kernel.auth.caller(token)
            except Unauthorized:
                pass
            else:
                buckets = self.api_key if caller.kind == "api_key" else self.user
                return buckets.take(caller.user_id)
        return self.anonymous_wait(scope)

    def anonymous_wait(self, scope: Scope) -> float:
        client = scope.get("client")
        return self.anonymous.take(client[0] if client else None)


def too_many(wait: float) -> TooManyRequests:
    return TooManyRequests(headers={"Retry-After": str(max(1, math.ceil(wait)))})


class RateLimitMiddleware:
    """Answers 429 to a caller over their limit, before the request reaches a route or a service."""

    def __init__(self, app: ASGIApp, *, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in _UNLIMITED:
            wait = await self.limits.wait(scope)
            if wait > 0:
                await problem_response(too_many(wait))(scope, receive, send)
                return
        await self.app(scope, receive, send)
