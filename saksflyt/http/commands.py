"""Command endpoints: each builds one domain command from its body; ``run`` hands it to
``Casework.handle`` and answers with what became of it (a refusal goes to the error handlers).

The server stamps when each command arrived (``received_at``); a client's own time is not the
record. An ``Idempotency-Key`` header (a UUID) becomes the command id: a resend of the same request
answers as the first did, the same key with another request is refused (``http.idempotency``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from domain import commands as cmd
from domain.errors import ConcurrentUpdate, DomainError
from domain.values import Decision, Neighbour
from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.archive.numbers import Numbers
from saksflyt.archive.records import saksaar
from saksflyt.http import models as m
from saksflyt.http.auth import CaseCaller, permit, permit_case, require_scope
from saksflyt.http.idempotency import fingerprint
from saksflyt.http.problems import ApiProblem, domain_problem
from saksflyt.http.services import services
from saksflyt.records import records_database

router = APIRouter(
    tags=["commands"], responses=m.problem_responses(400, 401, 403, 404, 409, 413, 422)
)
Filer = Annotated[Principal, permit(P.FILE)]
Key = Annotated[
    UUID | None,
    Header(
        alias="Idempotency-Key",
        description="A UUID; resending the same request with it answers the same and changes "
        "nothing; another request with the same key is refused",
    ),
]
Result = dict[str, Any] | Response
CASE_IDS = UUID("6b1f3c0e-5a52-5d0b-9d6e-0c4a7f2e8b31")  # the namespace of client-chosen case ids
STEP = "/applications/{case_id}/"
# OpenAPI links: what a client (and schemathesis) can do next with the case a creation answered
NEXT_STEPS = (
    "get_case",
    "case_events",
    "upload_attachment",
    "save_draft",
    "take_up_contact",
    "submit",
    "notify_neighbours",
    "record_comment",
    "record_consent",
    "request_consultation",
    "record_consultation_answer",
    "request_documents",
    "resume",
    "preliminary_reply",
    "decide",
    "record_delivery",
    "record_survey",
    "receive_appeal",
    "review_appeal",
    "dismiss_appeal",
    "record_appeal_result",
    "withdraw",
    "archive",
    "shred",
)
CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "links": {
            step: {"operationId": step, "parameters": {"case_id": "$response.body#/case_id"}}
            for step in NEXT_STEPS
        }
    }
}


def new_case_id(kommunenummer: str, chosen: UUID | None, key: UUID | None = None) -> UUID:
    """A new case's id. An id the client chose (or its ``Idempotency-Key``) names the case within
    the municipality: the case's id is derived from it in that municipality's namespace (UUID v5),
    so a resend meets the same case, and an id that exists in another municipality meets nothing
    there — no caller learns from a ``409`` that another municipality's case exists."""
    namespace = uuid5(CASE_IDS, kommunenummer)
    if chosen is not None:
        return uuid5(namespace, str(chosen))
    return uuid5(namespace, f"idempotency-key:{key}") if key is not None else uuid4()


@router.post("/applications", status_code=201, response_model=m.CommandResult, responses=CREATED)
def submit_application(
    body: m.NewApplication, request: Request, who: Filer, key: Key = None
) -> Result:
    """Start and submit an application in one step: stored together, or nothing is stored.

    With an ``Idempotency-Key`` and no ``case_id`` the case id derives from the key, so a resend
    after a lost answer neither opens a second case nor submits twice.
    """
    require_scope(who, body.service, body.kommunenummer)
    command = cmd.SubmitNewApplication(
        **command_ids(request, new_case_id(body.kommunenummer, body.case_id, key), key, who),
        service=body.service,
        kommunenummer=body.kommunenummer,
        form=body.form,
        signed_at=body.signed_at,
    )
    return run(request, key, body, command)


@router.post("/drafts", status_code=201, response_model=m.CommandResult, responses=CREATED)
def start_draft(body: m.NewDraft, request: Request, who: Filer, key: Key = None) -> Result:
    """Open a draft (mellomlagring), optionally with the first part of the form."""
    require_scope(who, body.service, body.kommunenummer)
    command = cmd.StartApplication(
        **command_ids(request, new_case_id(body.kommunenummer, body.case_id, key), key, who),
        service=body.service,
        kommunenummer=body.kommunenummer,
        form=body.form,
    )
    return run(request, key, body, command)


@router.post(
    "/contact-requests", status_code=201, response_model=m.CommandResult, responses=CREATED
)
def request_contact(
    body: m.NewContactRequest, request: Request, who: Filer, key: Key = None
) -> Result:
    """«Kontakt meg»: a case that holds only how to reach the person, for a caseworker to take
    up (``POST /applications/{id}/contact-taken-up``); the overview lists them by
    ``contact_status``."""
    require_scope(who, body.service, body.kommunenummer)
    command = cmd.RequestContact(
        **command_ids(request, new_case_id(body.kommunenummer, body.case_id, key), key, who),
        service=body.service,
        kommunenummer=body.kommunenummer,
        contact=body.contact.model_dump(mode="json", exclude_none=True),
    )
    return run(request, key, body, command)


@router.post(STEP + "contact-taken-up", response_model=m.CommandResult, summary="Called back")
def take_up_contact(
    case_id: UUID,
    body: m.Step,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    """The caseworker reached the person: the draft application starts with their name."""
    ids = command_ids(request, case_id, key, c.who)
    return run(request, key, body, cmd.TakeUpContact(**ids))


@router.post(STEP + "draft", response_model=m.CommandResult, summary="Save a draft")
def save_draft(
    case_id: UUID,
    body: m.DraftBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE)],
    key: Key = None,
) -> Result:
    command = cmd.SaveDraft(**command_ids(request, case_id, key, c.who), form=body.form)
    return run(request, key, body, command)


@router.post(STEP + "submit", response_model=m.CommandResult, summary="Submit")
def submit(
    case_id: UUID,
    body: m.SubmitBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.SubmitApplication(**ids, form=body.form, signed_at=body.signed_at)
    return run(request, key, body, command)


@router.post(STEP + "neighbour-notice", response_model=m.CommandResult, summary="Nabovarsel")
def notify_neighbours(
    case_id: UUID,
    body: m.NoticeBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE, P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    parties = [Neighbour(**n.model_dump()) for n in body.neighbours]
    properties = [p.matrikkelnummer for p in parties]
    command = cmd.SendNeighbourNotice(**ids, neighbours=properties, parties=parties)
    return run(request, key, body, command)


@router.post(STEP + "neighbour-comments", response_model=m.CommandResult, summary="A comment")
def record_comment(
    case_id: UUID,
    body: m.CommentBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE, P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.RecordNeighbourComment(**ids, neighbour=body.neighbour, objection=body.objection)
    return run(request, key, body, command)


@router.post(STEP + "survey", response_model=m.CommandResult, summary="The survey was held")
def record_survey(
    case_id: UUID,
    body: m.SurveyBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    """Kartforretning: the survey after the permit, due within 16 weeks with the municipality's
    winter period not counted (matrikkelforskriften § 18); a later one is marked late."""
    ids = command_ids(request, case_id, key, c.who)
    return run(request, key, body, cmd.RecordSurvey(**ids, held_on=body.held_on))


@router.post(STEP + "consultations", response_model=m.CommandResult, summary="Ask for a statement")
def request_consultation(
    case_id: UUID,
    body: m.ConsultationBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    """Skjenkebevilling: the police and social services are heard before the decision
    (alkoholloven § 1-7); the answer-by date is the service's consultation days away."""
    ids = command_ids(request, case_id, key, c.who)
    return run(request, key, body, cmd.RequestConsultation(**ids, party=body.party))


@router.post(
    STEP + "consultation-answers", response_model=m.CommandResult, summary="A statement arrived"
)
def record_consultation_answer(
    case_id: UUID,
    body: m.ConsultationAnswerBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.RecordConsultationAnswer(**ids, party=body.party, objection=body.objection)
    return run(request, key, body, command)


@router.post(STEP + "neighbour-consents", response_model=m.CommandResult, summary="Consent")
def record_consent(
    case_id: UUID,
    body: m.ConsentBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE, P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    return run(request, key, body, cmd.RecordNeighbourConsent(**ids, neighbour=body.neighbour))


@router.post(STEP + "missing-documents", response_model=m.CommandResult, summary="Mangelbrev")
def request_documents(
    case_id: UUID,
    body: m.MissingBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.RequestMissingDocuments(**ids, kinds=body.kinds, reason=body.reason)
    return run(request, key, body, command)


@router.post(STEP + "resume", response_model=m.CommandResult, summary="Resume processing")
def resume(
    case_id: UUID,
    body: m.Step,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    return run(
        request, key, body, cmd.ResumeProcessing(**command_ids(request, case_id, key, c.who))
    )


@router.post(STEP + "preliminary-reply", response_model=m.CommandResult, summary="fvl § 11 a")
def preliminary_reply(
    case_id: UUID,
    body: m.ReplyBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.SendPreliminaryReply(**ids, reason=body.reason, expected_by=body.expected_by)
    return run(request, key, body, command)


@router.post(STEP + "decision", response_model=m.CommandResult, summary="Vedtak")
def decide(
    case_id: UUID,
    body: m.DecisionBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    decision = _decision(body, c.who)
    command = cmd.Decide(**command_ids(request, case_id, key, c.who), decision=decision)
    return run(request, key, body, command)


@router.post(
    STEP + "decision-delivery",
    response_model=m.CommandResult,
    summary="The day the vedtak reached the party",
)
def record_delivery(
    case_id: UUID,
    body: m.DeliveryBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    """For a decision letter by post: the appeal period runs from this day (fvl § 29). A
    letter by e-mail records its own delivery when it is handed over."""
    ids = command_ids(request, case_id, key, c.who)
    return run(
        request, key, body, cmd.RecordDecisionDelivery(**ids, delivered_on=body.delivered_on)
    )


@router.post(STEP + "appeal", response_model=m.CommandResult, summary="A klage arrived")
def receive_appeal(
    case_id: UUID,
    body: m.AppealBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE, P.ACT)],
    key: Key = None,
) -> Result:
    """From the form portal or registered by a caseworker; one sent after the appeal period is
    taken in and marked late (fvl §§ 30-31)."""
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.ReceiveAppeal(
        **ids, received_on=body.received_on, sent_on=body.sent_on, party=body.party
    )
    return run(request, key, body, command)


@router.post(STEP + "appeal-review", response_model=m.CommandResult, summary="Review a klage")
def review_appeal(
    case_id: UUID,
    body: m.AppealReviewBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.ReviewAppeal(
        **ids, decision=_maybe_decision(body.decision), appeal_body=body.appeal_body
    )
    return run(request, key, body, command)


@router.post(STEP + "appeal-dismissal", response_model=m.CommandResult, summary="Dismiss a klage")
def dismiss_appeal(
    case_id: UUID,
    body: m.AppealDismissalBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    """Avvisning: by the deciding body (an appealable decision, a new klagefrist runs) or as
    the appeal body's answer (final)."""
    ids = command_ids(request, case_id, key, c.who)
    return run(request, key, body, cmd.DismissAppeal(**ids, ground=body.ground, by=body.by))


@router.post(STEP + "appeal-result", response_model=m.CommandResult, summary="The appeal's answer")
def record_appeal_result(
    case_id: UUID,
    body: m.AppealResultBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.ACT)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    command = cmd.RecordAppealResult(
        **ids, result=body.result, decision=_maybe_decision(body.decision)
    )
    return run(request, key, body, command)


def _decision(body: m.DecisionBody, who: Principal | None = None) -> Decision:
    """The decision as sent; its case officer is the caller's name where the identity provider
    gives one (what the letter and the archive's saksansvarlig show)."""
    officer = (who.name if who else None) or body.case_officer or (who.subject if who else "")
    return Decision(
        body.outcome,
        body.legal_basis,
        officer,
        body.facts,
        body.considerations,
        body.valid_until,
    )


def _maybe_decision(body: m.DecisionBody | None) -> Decision | None:
    return None if body is None else _decision(body)


@router.post(STEP + "withdrawal", response_model=m.CommandResult, summary="Withdraw")
def withdraw(
    case_id: UUID,
    body: m.WithdrawBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.FILE, P.ACT)],
    key: Key = None,
) -> Result:
    command = cmd.Withdraw(**command_ids(request, case_id, key, c.who), reason=body.reason)
    return run(request, key, body, command)


@router.post(STEP + "archive", response_model=m.CommandResult, summary="Archive")
def archive(
    case_id: UUID,
    body: m.ArchiveBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.RECORD)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    reference = body.archive_reference or case_reference(request, c)
    command = cmd.Archive(**ids, archive_reference=reference, override_reason=body.override_reason)
    return run(request, key, body, command)


@router.post(STEP + "shred", response_model=m.CommandResult, summary="Shred (kassasjon)")
def shred(
    case_id: UUID,
    body: m.ShredBody,
    request: Request,
    c: Annotated[CaseCaller, permit_case(P.RECORD)],
    key: Key = None,
) -> Result:
    ids = command_ids(request, case_id, key, c.who)
    return run(request, key, body, cmd.Shred(**ids, override_reason=body.override_reason))


def case_reference(request: Request, c: CaseCaller) -> str:
    """The case's saksmappe number, assigned once (``saksflyt.archive.numbers``)."""
    s = services(request)
    year = saksaar(s.app.get_case(c.case_id))
    db = records_database(s.settings)
    try:
        return Numbers(db).case_reference(c.case_id, c.kommunenummer, year)
    finally:
        db.close()


def command_ids(
    request: Request, case_id: UUID, key: UUID | None, who: Principal
) -> dict[str, Any]:
    """The ids every command carries, who sent it, and the server's time of arrival."""
    return {
        "command_id": key or uuid4(),
        "case_id": case_id,
        "received_at": services(request).clock(),
        "actor": who.subject,
    }


def run(
    request: Request,
    key: UUID | None,
    body: Any,
    command: cmd.Command,
    extra: dict[str, Any] | None = None,
) -> Result:
    """Handle the command once per key: a resend of the same request gets the first answer.

    ``body`` is what makes the request what it is (for the key's fingerprint); ``extra`` joins
    the answer (e.g. an upload's attachment id).
    """
    if key is None:
        return {**_handle(request, command), **(extra or {})}
    keys = services(request).idempotency
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    route = getattr(request.scope.get("route"), "path", request.url.path)
    earlier = keys.claim(key, fingerprint(route, command.case_id, payload))
    if earlier is not None:
        if earlier.status >= 400:
            return Response(earlier.body, earlier.status, media_type="application/problem+json")
        return JSONResponse({**json.loads(earlier.body), "duplicate": True}, earlier.status)
    try:
        result = {**_handle(request, command), **(extra or {})}
    except ConcurrentUpdate:
        keys.release(key)  # a race, not an answer: nothing was recorded, a resend runs again
        raise
    except DomainError as refusal:
        refused = domain_problem(refusal)
        keys.answer(key, refused.status_code, bytes(refused.body).decode())
        raise
    except BaseException:
        keys.release(key)
        raise
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    model = getattr(route, "response_model", None)  # kept as the first caller was answered
    answered = model.model_validate(result).model_dump(mode="json") if model else result
    kept = JSONResponse(jsonable_encoder(answered), status)
    keys.answer(key, status, bytes(kept.body).decode())
    return kept  # answered as kept, serialized once (FastAPI passes a Response through)


def _handle(request: Request, command: cmd.Command) -> dict[str, Any]:
    s = services(request)
    handled = s.app.handle(command)
    if handled.refusal is not None:
        raise handled.refusal  # the error handlers answer 404/409/422
    if handled.verdict is cmd.Verdict.DUPLICATE and s.app.was_refused(command.command_id):
        # its first answer was lost (the API died before keeping it): not a success to repeat
        raise ApiProblem(
            409,
            "refused-when-first-sent",
            "this request was refused when it was first handled; read the case, then send a "
            "new request (a new Idempotency-Key) if it still applies",
        )
    s.committed()
    return {
        "case_id": str(command.case_id),
        "command_id": str(command.command_id),
        "status": handled.status,
        "version": handled.version,
        "duplicate": handled.verdict is cmd.Verdict.DUPLICATE,
    }
