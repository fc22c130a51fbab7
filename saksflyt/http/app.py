"""``saksflyt serve``: the HTTP API. Commands go to ``Casework.handle``, as from the Kafka intake.

Every endpoint but the health checks wants a bearer token (``saksflyt.http.auth``); reads of a
whole case go into the access log. Every error is problem details (``saksflyt.http.problems``):
invalid input 422 with field errors, a step the rules refuse 409 with its rule code, an unknown
case 404, a body too large 413, no valid token 401, a role or scope that does not allow it 403. An
``Idempotency-Key`` header makes a command safe to resend: the same request answers the same, a
different request with the same key is refused.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import metadata

from anyio import to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.formparsers import MultiPartParser

from saksflyt.access.revocations import Revocations
from saksflyt.access.tokens import TokenVerifier, longest_token
from saksflyt.http import openapi
from saksflyt.http.attachments import router as attachment_router
from saksflyt.http.audit import router as audit_router
from saksflyt.http.catalogue import router as catalogue_router
from saksflyt.http.commands import router as command_router
from saksflyt.http.dashboard import router as dashboard_router
from saksflyt.http.eventlog import router as eventlog_router
from saksflyt.http.exports import router as export_router
from saksflyt.http.gate import Gate
from saksflyt.http.limits import UPLOAD_OVERHEAD, BodyLimit
from saksflyt.http.messages import router as message_router
from saksflyt.http.problems import add_problem_handlers
from saksflyt.http.reads import router as read_router
from saksflyt.http.request_ids import RequestIds
from saksflyt.http.services import Services
from saksflyt.ops.metrics import http_metrics
from saksflyt.records import records_database
from saksflyt.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """The API on these settings; ``clock`` stamps when each command arrived (tests move it)."""
    settings = settings or Settings.from_env()
    revoked = Revocations(
        lambda: records_database(settings),
        longest_token(settings),
        settings.auth_revocation_refresh_seconds,
    )
    # no key, no API: NotConfigured says which
    tokens = TokenVerifier.from_settings(settings, revoked)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = Services(settings, clock or (lambda: datetime.now(UTC)))
        # requests past this many wait their turn instead of all contending for the GIL and
        # the database at once (anyio's default is 40)
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        for issuer, why in (await to_thread.run_sync(tokens.warm)).items():
            log.warning("identity provider keys not fetched", extra={"issuer": issuer, "why": why})
        yield
        app.state.services.close()

    app = FastAPIOffline(  # /docs and /redoc from files installed with it, never from a CDN
        title="saksflyt",
        version=metadata.version("saksflyt"),
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operationId = function name
        description="Case processing for municipal e-services: commands and read models.",
    )
    # An upload stays in memory while it is checked and sealed: never spooled to disk in clear.
    MultiPartParser.spool_max_size = max(
        MultiPartParser.spool_max_size, settings.max_attachment_bytes + UPLOAD_OVERHEAD
    )
    app.state.tokens = tokens
    add_problem_handlers(app)
    app.add_middleware(BodyLimit, settings=settings)  # 413 before parsing or spooling
    app.add_middleware(Gate, settings=settings, tokens=tokens)  # 401 and 429 before the body
    app.include_router(command_router)
    app.include_router(attachment_router)
    app.include_router(read_router)
    app.include_router(message_router)
    app.include_router(catalogue_router)
    app.include_router(dashboard_router)
    app.include_router(audit_router)
    app.include_router(export_router)
    app.include_router(eventlog_router)
    openapi.install(app)  # each service's form schema in the request bodies
    http_metrics(app)
    app.add_middleware(RequestIds)  # outermost: the id holds for everything the request does
    return app
