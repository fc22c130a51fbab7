"""Command endpoints: each builds one domain command from its body; ``run`` hands it to
``Casework.handle`` and answers with what became of it (a refusal goes to the error handlers).

An ``Idempotency-Key`` header (a UUID) becomes the command id, so a resend changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Header, Request

from domain import commands as cmd
from domain.values import Decision
from saksflyt.http import models as m
from saksflyt.http.services import services

router = APIRouter(tags=["commands"])
Key = Annotated[
    UUID | None,
    Header(alias="Idempotency-Key", description="A UUID; resending the same key changes nothing"),
]
Result = dict[str, Any]
STEP = "/applications/{case_id}/"


@router.post("/applications", status_code=201, response_model=m.CommandResult)
def submit_application(body: m.NewApplication, request: Request, key: Key = None) -> Result:
    """Start and submit an application in one go (services without required attachments).

    With an ``Idempotency-Key`` the case id and both steps derive from it, so a resend after
    a lost answer neither opens a second case nor submits twice.
    """
    key = key or uuid4()
    ids = command_ids(body.case_id or uuid5(key, "case"), key, body.at)
    start = {**ids, "command_id": uuid5(key, "start")}
    run(
        request,
        cmd.StartApplication(**start, service=body.service, kommunenummer=body.kommunenummer),
    )
    return run(request, cmd.SubmitApplication(**ids, form=body.form))


@router.post("/drafts", status_code=201, response_model=m.CommandResult)
def start_draft(body: m.NewDraft, request: Request, key: Key = None) -> Result:
    """Open a draft (mellomlagring), optionally with the first part of the form."""
    ids = command_ids(body.case_id, key, body.at)
    return run(
        request,
        cmd.StartApplication(
            **ids, service=body.service, kommunenummer=body.kommunenummer, form=body.form
        ),
    )


@router.post(STEP + "draft", response_model=m.CommandResult, summary="Save a draft")
def save_draft(case_id: UUID, body: m.DraftBody, request: Request, key: Key = None) -> Result:
    return run(request, cmd.SaveDraft(**command_ids(case_id, key, body.at), form=body.form))


@router.post(STEP + "submit", response_model=m.CommandResult, summary="Submit")
def submit(case_id: UUID, body: m.SubmitBody, request: Request, key: Key = None) -> Result:
    ids = command_ids(case_id, key, body.at)
    return run(request, cmd.SubmitApplication(**ids, form=body.form))


@router.post(STEP + "neighbour-notice", response_model=m.CommandResult, summary="Nabovarsel")
def notify_neighbours(
    case_id: UUID, body: m.NoticeBody, request: Request, key: Key = None
) -> Result:
    ids = command_ids(case_id, key, body.at)
    return run(request, cmd.SendNeighbourNotice(**ids, neighbours=body.neighbours))


@router.post(STEP + "neighbour-comments", response_model=m.CommandResult, summary="A comment")
def record_comment(case_id: UUID, body: m.CommentBody, request: Request, key: Key = None) -> Result:
    ids = command_ids(case_id, key, body.at)
    command = cmd.RecordNeighbourComment(**ids, neighbour=body.neighbour, objection=body.objection)
    return run(request, command)


@router.post(STEP + "neighbour-consents", response_model=m.CommandResult, summary="Consent")
def record_consent(case_id: UUID, body: m.ConsentBody, request: Request, key: Key = None) -> Result:
    ids = command_ids(case_id, key, body.at)
    return run(request, cmd.RecordNeighbourConsent(**ids, neighbour=body.neighbour))


@router.post(STEP + "missing-documents", response_model=m.CommandResult, summary="Mangelbrev")
def request_documents(
    case_id: UUID, body: m.MissingBody, request: Request, key: Key = None
) -> Result:
    ids = command_ids(case_id, key, body.at)
    return run(request, cmd.RequestMissingDocuments(**ids, kinds=body.kinds, reason=body.reason))


@router.post(STEP + "resume", response_model=m.CommandResult, summary="Resume processing")
def resume(case_id: UUID, body: m.Step, request: Request, key: Key = None) -> Result:
    return run(request, cmd.ResumeProcessing(**command_ids(case_id, key, body.at)))


@router.post(STEP + "preliminary-reply", response_model=m.CommandResult, summary="fvl § 11 a")
def preliminary_reply(
    case_id: UUID, body: m.ReplyBody, request: Request, key: Key = None
) -> Result:
    ids = command_ids(case_id, key, body.at)
    command = cmd.SendPreliminaryReply(**ids, reason=body.reason, expected_by=body.expected_by)
    return run(request, command)


@router.post(STEP + "decision", response_model=m.CommandResult, summary="Vedtak")
def decide(case_id: UUID, body: m.DecisionBody, request: Request, key: Key = None) -> Result:
    decision = Decision(body.outcome, body.legal_basis, body.case_officer)
    return run(request, cmd.Decide(**command_ids(case_id, key, body.at), decision=decision))


@router.post(STEP + "withdrawal", response_model=m.CommandResult, summary="Withdraw")
def withdraw(case_id: UUID, body: m.WithdrawBody, request: Request, key: Key = None) -> Result:
    return run(request, cmd.Withdraw(**command_ids(case_id, key, body.at), reason=body.reason))


@router.post(STEP + "archive", response_model=m.CommandResult, summary="Archive")
def archive(case_id: UUID, body: m.ArchiveBody, request: Request, key: Key = None) -> Result:
    ids = command_ids(case_id, key, body.at)
    return run(request, cmd.Archive(**ids, archive_reference=body.archive_reference))


@router.post(STEP + "shred", response_model=m.CommandResult, summary="Shred (kassasjon)")
def shred(case_id: UUID, body: m.Step, request: Request, key: Key = None) -> Result:
    return run(request, cmd.Shred(**command_ids(case_id, key, body.at)))


def run(request: Request, command: cmd.Command) -> dict[str, Any]:
    """Hand the command to ``Casework.handle``; a refusal is raised for the error handlers."""
    s = services(request)
    handled = s.app.handle(command)
    if handled.refusal is not None:
        raise handled.refusal  # the app's error handlers answer 404/409/422
    s.deliver()
    return {
        "case_id": str(command.case_id),
        "command_id": str(command.command_id),
        "status": handled.status,
        "version": handled.version,
        "duplicate": handled.verdict is cmd.Verdict.DUPLICATE,
    }


def command_ids(case_id: UUID | None, key: UUID | None, at: datetime | None) -> dict[str, Any]:
    return {
        "command_id": key or uuid4(),
        "case_id": case_id or uuid4(),
        "issued_at": at or datetime.now(UTC),
    }
