"""``saksflyt serve``: the HTTP API. Commands go to ``Casework.handle``, as from the Kafka intake.

Invalid input answers 422 with field errors, a step the rules refuse answers 409 naming the rule,
an unknown case 404. An ``Idempotency-Key`` header makes a command safe to resend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from domain.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrentUpdate,
    DomainError,
    IncompleteForm,
    InvalidIdentifier,
    InvalidTransition,
    UnknownService,
)
from saksflyt.http.attachments import router as attachment_router
from saksflyt.http.commands import router as command_router
from saksflyt.http.dashboard import router as dashboard_router
from saksflyt.http.reads import router as read_router
from saksflyt.http.services import Services
from saksflyt.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = Services(settings)
        yield
        app.state.services.close()

    app = FastAPI(
        title="saksflyt",
        version="0.1.0",
        lifespan=lifespan,
        description="Case processing for municipal e-services: commands and read models.",
    )
    for error, status in ERROR_STATUS.items():
        app.add_exception_handler(error, _error_handler(status))
    app.include_router(command_router)
    app.include_router(attachment_router)
    app.include_router(read_router)
    app.include_router(dashboard_router)
    return app


ERROR_STATUS: dict[type[Exception], int] = {
    CaseNotFound: 404,
    InvalidTransition: 409,
    CaseAlreadyExists: 409,
    ConcurrentUpdate: 409,
    IncompleteForm: 422,
    InvalidIdentifier: 422,
    UnknownService: 422,
}


def _error_handler(status: int) -> Callable[[Request, Exception], Any]:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        body: dict[str, Any] = {"detail": str(error), "error": type(error).__name__}
        if isinstance(error, DomainError):
            body["rule"] = error.code
        if isinstance(error, IncompleteForm):
            body["problems"] = error.problems
        return JSONResponse(body, status_code=status)

    return handle
