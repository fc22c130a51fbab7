"""Every error the API answers, as RFC 9457 problem details (``application/problem+json``).

``type``, ``title``, ``status`` and ``detail``, plus ``rule`` (a stable code for machines) and
``errors`` (field errors) where there are some. Nothing a client sent is echoed back verbatim:
a value that broke validation may be one JSON cannot even carry (NaN, a lone surrogate).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from consumers.errors import is_transient
from domain.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrentUpdate,
    DomainError,
    IncompleteForm,
    InvalidIdentifier,
    InvalidInput,
    InvalidTransition,
    UnknownService,
)
from saksflyt.http.request_ids import request_id

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://saksflyt.no/problems/"  # documented in docs/read-models.md, not fetched
TITLES = {
    400: "Bad request",
    401: "Not authenticated: a valid bearer token is needed",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflict with the case's state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    425: "Too early: not shown yet",
    500: "Internal error",
    503: "Not available on this server",
    507: "No room to store it now",
}
HTTP_CODES = {
    400: "body-not-readable",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
}
DOMAIN_STATUS: dict[type[DomainError], int] = {
    CaseNotFound: 404,
    InvalidTransition: 409,
    CaseAlreadyExists: 409,
    ConcurrentUpdate: 409,
    IncompleteForm: 422,
    InvalidIdentifier: 422,
    InvalidInput: 422,
    UnknownService: 422,
}


class ProblemResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        # ASCII-escaped and strict: whatever text an error carries, the answer can be sent
        return json.dumps(content, ensure_ascii=True, allow_nan=False, default=str).encode()


class ApiProblem(Exception):
    """An error the API layer itself raises (limits, media types, idempotency keys)."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status, self.code, self.detail, self.headers = status, code, detail, headers
        super().__init__(detail)


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> ProblemResponse:
    body = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "rule": code,
        **extra,
    }
    rid = request_id()
    if rid:
        body["request_id"] = rid  # quote it to an operator: it is on the request's log lines
    if status < 500:  # the 500s are logged with their error where they happen
        log.info("request refused", extra={"rule": code, "outcome": status})
    return ProblemResponse(body, status_code=status, headers=headers)


def _status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in DOMAIN_STATUS:
            return DOMAIN_STATUS[kind]  # type: ignore[index]
    return 422


def domain_problem(error: DomainError) -> ProblemResponse:
    """A refusal of the domain as problem details: its status, code and message."""
    extra = {"problems": error.problems} if isinstance(error, IncompleteForm) else {}
    return problem(_status_of(error), error.code, str(error), None, **extra)


async def _domain(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return domain_problem(error)


async def _api(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiProblem)
    return problem(error.status, error.code, error.detail, error.headers)


async def _validation(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": e.get("msg"),
            "type": e.get("type"),
        }
        for e in error.errors()
    ]
    return problem(422, "invalid-request", "the request does not match its schema", errors=errors)


async def _http(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = HTTP_CODES.get(error.status_code, f"http-{error.status_code}")
    # keep what the error says in headers: a 405's Allow (RFC 9110 § 15.5.6) above all
    return problem(error.status_code, code, str(error.detail), dict(error.headers or {}) or None)


async def _unexpected(request: Request, error: Exception) -> Response:
    if is_transient(error):  # the database restarting, or a connection it dropped
        log.warning("a dependency is unavailable", extra={"error": type(error).__name__})
        return problem(
            503,
            "temporarily-unavailable",
            "a dependency is unavailable for a moment; send the request again",
            {"Retry-After": "1"},
        )
    log.error("unexpected error", exc_info=error, extra={"error": type(error).__name__})
    return problem(500, "internal-error", "an unexpected error; it is logged")


def add_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(ApiProblem, _api)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
