"""``GET /applications/{case_id}/messages``: the letters of a case — for its applicant (an ID-porten
login whose ``pid`` is the applicant's) and for caseworkers and archivists in scope.

Each letter the notices policy sends (receipt, mangelbrev, preliminary reply, decision) is
listed with what became of it (sent, failed, or waiting to be sent) and its text as rendered
from its template. Every read is in the access log.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request

from saksflyt.archive.numbers import Numbers
from saksflyt.http import models as m
from saksflyt.http.auth import CaseCaller, permit_own_case, purpose_header
from saksflyt.http.problems import ApiProblem
from saksflyt.http.reads import log_read
from saksflyt.http.services import services
from saksflyt.letters.occasions import OUTGOING, about_case, letter_for
from saksflyt.notices.policy import domain_of, message_id_for
from saksflyt.records import records_database
from schemas.mapping import event_id

router = APIRouter()
RECORDS = ("ReceiptSent", "MessageSent", "MessageFailed")
OwnReader = Annotated[CaseCaller, permit_own_case()]
StaffPurpose = Annotated[
    str | None,
    purpose_header(
        "Why you read these letters (kept in the access log). Required of staff (a "
        "caseworker's or archivist's token: 422 access-purpose-missing without it); the "
        "applicant reading their own letters may leave it out"
    ),
]


@router.get(
    "/applications/{case_id}/messages",
    tags=["cases"],
    summary="The letters of a case, and what became of them",
    responses=m.problem_responses(401, 403, 404, 422),
    response_model=list[m.MessageOut],
)
def case_messages(
    request: Request, case_id: UUID, c: OwnReader, purpose: StaffPurpose = None
) -> list[dict[str, Any]]:
    if purpose is None and not c.own:
        raise ApiProblem(422, "access-purpose-missing", "send Access-Purpose: why you read it")
    log_read(request, c, "messages", purpose or "the applicant reads their own letters")
    s = services(request)
    case = s.app.get_case(case_id)
    history = list(s.app.history(case_id))
    outcomes = {e.message_id: e for e in history if type(e).__name__ in RECORDS}  # type: ignore[attr-defined]
    domain, about = domain_of(s.settings.notices_from), about_case(s.app, case)
    if about.reference is None:  # the saksnummer the receipt gave it, if any
        db = records_database(s.settings)
        try:
            about = replace(about, reference=Numbers(db).existing(case_id))
        finally:
            db.close()
    letters = []
    for event in history:
        name = type(event).__name__
        if name not in OUTGOING or name == "NeighbourNoticeSent":  # that one goes to neighbours
            continue
        occasion = OUTGOING[name]
        version = event.originator_version  # type: ignore[attr-defined]
        sent_id = message_id_for(event_id(case_id, version), occasion.kind, domain)
        record = outcomes.get(sent_id)
        letter = letter_for(occasion, event, about)
        letters.append(
            {
                "kind": occasion.kind,
                "occasion_at": event.at,  # type: ignore[attr-defined]
                "message_id": sent_id,
                "outcome": _outcome(record),
                "channel": getattr(record, "channel", None),
                "subject": letter.title,
                "body": letter.body,
            }
        )
    return letters


def _outcome(record: Any) -> str:
    if record is None:
        return "waiting"
    return "failed" if type(record).__name__ == "MessageFailed" else "sent"
