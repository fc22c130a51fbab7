"""``saksflyt serve``: the HTTP API. Commands map to the same domain commands as the Kafka intake.

Invalid input answers 422 with field errors, a step the rules refuse answers 409 naming the rule,
an unknown case 404. An ``Idempotency-Key`` header makes a command safe to resend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from domain import commands as cmd
from domain.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrentUpdate,
    IncompleteForm,
    InvalidIdentifier,
    InvalidTransition,
    UnknownService,
)
from saksflyt import api_models as m
from saksflyt.api_core import Services, command_ids, run, services
from saksflyt.api_reads import router as read_router
from saksflyt.attachments import router as attachment_router
from saksflyt.dashboard import router as dashboard_router
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
    app.include_router(command_router())
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
        if isinstance(error, InvalidTransition):
            body["rule"] = error.rule
        if isinstance(error, IncompleteForm):
            body["problems"] = error.problems
        return JSONResponse(body, status_code=status)

    return handle


def command_router() -> APIRouter:
    """Every command endpoint; each maps its body to one domain command."""
    router = APIRouter(tags=["commands"])
    Key = Header(
        default=None,
        alias="Idempotency-Key",
        description="A UUID; resending the same key changes nothing",
    )

    @router.post("/applications", status_code=201, response_model=m.CommandResult)
    def submit_application(
        body: m.NewApplication, request: Request, key: UUID | None = Key
    ) -> dict[str, Any]:
        """Start and submit an application in one go (services without required attachments).

        With an ``Idempotency-Key`` the case id and both steps derive from it, so a resend after
        a lost answer neither opens a second case nor submits twice.
        """
        key = key or uuid4()
        ids = command_ids(body.case_id or uuid5(key, "case"), key, body.at)
        start = cmd.StartApplication(
            **{**ids, "command_id": uuid5(key, "start")},
            service=body.service,
            kommunenummer=body.kommunenummer,
        )
        s = services(request)
        if not s.app.has_processed(start.command_id):
            with s.app.command(start.command_id):
                cmd.execute(start, s.app)
        return run(request, cmd.SubmitApplication(**ids, form=body.form))

    @router.post("/drafts", status_code=201, response_model=m.CommandResult)
    def start_draft(body: m.NewDraft, request: Request, key: UUID | None = Key) -> dict[str, Any]:
        return run(
            request,
            cmd.StartApplication(
                **command_ids(body.case_id, key, body.at),
                service=body.service,
                kommunenummer=body.kommunenummer,
                form=body.form,
            ),
        )

    def step(
        path: str,
        model: type[m.Step],
        build: Callable[[dict[str, Any], Any], cmd.Command],
        summary: str,
    ) -> None:
        def endpoint(case_id: UUID, body: Any, request: Request, key: UUID | None = Key) -> Any:
            return run(request, build(command_ids(case_id, key, body.at), body))

        endpoint.__annotations__["body"] = model  # each step has its own body model
        router.add_api_route(
            f"/applications/{{case_id}}/{path}",
            endpoint,
            methods=["POST"],
            response_model=m.CommandResult,
            summary=summary,
            name=path,
        )

    step("draft", m.DraftBody, lambda i, b: cmd.SaveDraft(**i, form=b.form), "Save a draft")
    step("submit", m.SubmitBody, lambda i, b: cmd.SubmitApplication(**i, form=b.form), "Submit")
    step(
        "neighbour-notice",
        m.NoticeBody,
        lambda i, b: cmd.SendNeighbourNotice(**i, neighbours=b.neighbours),
        "Neighbour notice",
    )
    step(
        "neighbour-comments",
        m.CommentBody,
        lambda i, b: cmd.RecordNeighbourComment(**i, neighbour=b.neighbour, objection=b.objection),
        "Record a neighbour's comment",
    )
    step(
        "neighbour-consents",
        m.ConsentBody,
        lambda i, b: cmd.RecordNeighbourConsent(**i, neighbour=b.neighbour),
        "Record consent",
    )
    step(
        "missing-documents",
        m.MissingBody,
        lambda i, b: cmd.RequestMissingDocuments(**i, kinds=b.kinds, reason=b.reason),
        "Ask for missing documents",
    )
    step("resume", m.Step, lambda i, b: cmd.ResumeProcessing(**i), "Resume processing")
    step(
        "preliminary-reply",
        m.ReplyBody,
        lambda i, b: cmd.SendPreliminaryReply(**i, reason=b.reason, expected_by=b.expected_by),
        "Send a preliminary reply (fvl § 11 a)",
    )
    step(
        "decision",
        m.DecisionBody,
        lambda i, b: cmd.Decide(
            **i, outcome=b.outcome, legal_basis=b.legal_basis, case_officer=b.case_officer
        ),
        "Decide",
    )
    step("withdrawal", m.WithdrawBody, lambda i, b: cmd.Withdraw(**i, reason=b.reason), "Withdraw")
    step(
        "archive",
        m.ArchiveBody,
        lambda i, b: cmd.Archive(**i, archive_reference=b.archive_reference),
        "Archive",
    )
    step("shred", m.Step, lambda i, b: cmd.Shred(**i), "Shred")
    return router
