"""Correlation ids for the API: each request has one (``X-Request-ID``: the caller's or a
proxy's when well-formed, else a new one), sent back on the response, put on every log line the
request causes, and quoted in problem details — so a 4xx or 5xx counted in the request metrics
can be found in the logs, and a person can quote it to an operator."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from consumers.logcontext import correlation, current

HEADER = b"x-request-id"
WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{8,64}")  # nothing a log or a header could be hurt by


def request_id() -> str | None:
    """The id of the request being handled (None outside one)."""
    return current().get("request_id")


class RequestIds:
    """Pure ASGI middleware, so the id holds for everything the request runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        rid = given if WELL_FORMED.fullmatch(given) else uuid4().hex

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        with correlation(request_id=rid):
            await self.app(scope, receive, send_with_id)
