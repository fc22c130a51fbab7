"""Limits before work: a request body larger than its route allows is refused with 413 while it
streams in — from its ``Content-Length`` before a byte is read, else as soon as it grows too big —
so nothing is parsed, spooled or stored for it.

FastAPI has a ``max_body_size`` of its own, but it answers ``text/plain``; every error of this API
is problem details, so the limit is this small middleware.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saksflyt.http.problems import problem
from saksflyt.settings import Settings

UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the form fields beside the file


class BodyTooLarge(HTTPException):
    """Raised while the body is read; FastAPI passes it on to the problem handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_limit = settings.max_json_bytes
        self.upload_limit = settings.max_attachment_bytes + UPLOAD_OVERHEAD

    def limit_for(self, path: str) -> int:
        return self.upload_limit if path.endswith("/attachments") else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    detail = f"the request body is larger than {limit} bytes"
    response: Any = problem(413, "body-too-large", detail)
    await response(scope, receive, send)
