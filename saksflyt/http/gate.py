"""The door: who is calling is known before a byte of the body is read, and nobody calls too often.

A pure ASGI middleware in front of everything that parses (multipart, JSON):

- a request that may carry a body (POST, PUT, PATCH, DELETE) must bring a valid bearer token;
  one without is answered ``401`` from its headers alone — a 9 MiB upload with no token costs
  its headers, not 9 MiB of memory. The caller found is kept for the route (``caller``), so the
  token is checked once;
- per address and per caller (the token's ``sub``), a sliding-window rate limit (the ``limits``
  library's sliding window counter, in this process's memory): over it, ``429`` with
  ``Retry-After``, counted in ``saksflyt_rate_limited_total{limit}``. Health checks are never
  limited. With several worker processes each keeps its own count (docs/security.md).
"""

from __future__ import annotations

import math
import time
from typing import Any

from anyio import to_thread
from limits import RateLimitItem, parse, storage, strategies
from starlette.types import ASGIApp, Receive, Scope, Send

from saksflyt.access.policy import Principal
from saksflyt.access.tokens import InvalidToken, KeysUnavailable, TokenVerifier
from saksflyt.http.auth import keys_unavailable
from saksflyt.http.problems import problem
from saksflyt.ops.metrics import RATE_LIMITED, TELEMETRY
from saksflyt.settings import Settings

WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NEVER_LIMITED = frozenset({"/healthz", "/readyz"})


class Gate:
    def __init__(self, app: ASGIApp, settings: Settings, tokens: TokenVerifier) -> None:
        self.app, self.tokens = app, tokens
        # two counters a key (this window's and the last one's, weighted by how much of it is
        # still inside the sliding window): O(1) a request. The moving window kept an entry per
        # request for a whole window, and under bench/door.py's high limits the list and its
        # expiry cost ~0.5–1 ms of CPU a request (docs/benchmarks.md).
        self.limiter = strategies.SlidingWindowCounterRateLimiter(storage.MemoryStorage())
        self.per_address = parse(settings.rate_limit_per_address)
        self.per_caller = parse(settings.rate_limit_per_caller)
        self.cooldown_s = settings.auth_jwks_cooldown_seconds

    async def _principal(self, token: str) -> Principal:
        """The token's caller; off the event loop when its issuer's keys may need fetching."""
        if self.tokens.fetches_keys:
            return await to_thread.run_sync(self.tokens.principal, token)
        return self.tokens.principal(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_LIMITED:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        if not self.limiter.hit(self.per_address, "address", address):
            await self._too_many("address", self.per_address, address, scope, receive, send)
            return
        if scope["method"] in WITH_BODY:
            try:
                who = await self._principal(_bearer(scope))
            except InvalidToken as refused:
                await _unauthenticated(refused, scope, receive, send)
                return
            except KeysUnavailable:
                said = keys_unavailable(self.cooldown_s)
                response: Any = problem(said.status, said.code, said.detail, said.headers)
                await response(scope, receive, send)
                return
            if not self.limiter.hit(self.per_caller, "caller", who.subject):
                await self._too_many("caller", self.per_caller, who.subject, scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = who
        await self.app(scope, receive, send)

    async def _too_many(
        self, kind: str, limit: RateLimitItem, key: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        RATE_LIMITED.labels(kind).inc()
        reset = self.limiter.get_window_stats(limit, kind, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        detail = f"more than {limit} from this {kind}; try again in {wait} s"
        response: Any = problem(429, "rate-limited", detail, {"Retry-After": str(wait)})
        await response(scope, receive, send)


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return str(token).strip()
    raise InvalidToken("token-missing", "send Authorization: Bearer <token>")


async def _unauthenticated(
    refused: InvalidToken, scope: Scope, receive: Receive, send: Send
) -> None:
    """The same answer the route's own check gives, from the headers alone."""
    TELEMETRY.access_refused(refused.code)
    challenge = (
        f'Bearer realm="saksflyt", error="invalid_token", error_description="{refused.detail}"'
    )
    response: Any = problem(401, refused.code, refused.detail, {"WWW-Authenticate": challenge})
    await response(scope, receive, send)
