"""Request and response bodies of the HTTP API: validated once, at the edge."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
)

from domain.appeal import AppealStage, DismissalGround
from domain.forms import ContactForm
from domain.lifecycle import AppealResult, Outcome
from projections.tables import (
    ACCESS_LOG,
    CASE_OVERVIEW,
    DEADLINE_WATCH,
    NEIGHBOUR_NOTICES,
    SERVICE_STATS,
    Table,
)

Text = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Kind = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$")]


def _iso_date(value: Any) -> Any:
    """A day as ISO 8601 (2026-03-02) or a date: never a number of seconds (``?to=0``)."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("a day is written YYYY-MM-DD, not as a number")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(Body):
    """A step with nothing to say but that it happens: the server records when it arrived."""


SignedAt = Annotated[
    AwareDatetime | None,
    Field(description="When the applicant signed, if the form portal knows (within 30 days)"),
]


ChosenId = Annotated[
    UUID | None,
    Field(
        description="Your own id for the new case, to resend safely: the case's id is derived "
        "from it and the municipality (the same id gives the same case; ids never meet another "
        "municipality's cases). Use the case_id the answer gives in later calls",
    ),
]


class NewDraft(Step):
    service: ShortText
    kommunenummer: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    form: dict[str, Any] = Field(default_factory=dict)
    case_id: ChosenId = None


class NewApplication(NewDraft):
    signed_at: SignedAt = None


class NewContactRequest(Step):
    """«Kontakt meg» (pleie-omsorg): how to reach the person, nothing more — no identity
    number, no health data; a caseworker calls back and starts the application."""

    service: ShortText = Field(examples=["pleie-omsorg"])
    kommunenummer: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    contact: ContactForm
    case_id: ChosenId = None


class DraftBody(Step):
    form: dict[str, Any]


class SubmitBody(Step):
    form: dict[str, Any] = Field(default_factory=dict)
    signed_at: SignedAt = None


class NeighbourParty(BaseModel):
    """One party to a nabovarsel (pbl § 21-3): the property and who is notified there."""

    model_config = ConfigDict(extra="forbid")
    matrikkelnummer: ShortText = Field(examples=["0301-12/34"])
    navn: ShortText
    adresse: ShortText
    rolle: Literal["nabo", "gjenboer"] = "nabo"


class NoticeBody(Step):
    """Sent before the application: neighbours and gjenboere, each by property and name."""

    neighbours: list[NeighbourParty] = Field(min_length=1, max_length=200)


class ConsentBody(Step):
    neighbour: ShortText


class CommentBody(ConsentBody):
    objection: bool


class SurveyBody(Step):
    """The oppmålingsforretning after the permit was held (matrikkelforskriften § 18)."""

    held_on: IsoDate


class ConsultationBody(Step):
    """A body asked for its statement before the decision (alkoholloven § 1-7)."""

    party: Kind = Field(examples=["politiet"])


class ConsultationAnswerBody(ConsultationBody):
    """Its statement arrived: ``objection`` if it advises against (the reasons go in a document)."""

    objection: bool


class MissingBody(Step):
    kinds: list[Kind] = Field(min_length=1, max_length=20)
    reason: Text


class ReplyBody(Step):
    reason: Text
    expected_by: IsoDate


class DecisionBody(Step):
    """A vedtak: the outcome, the rules it rests on, who decided, and its reasons (fvl §§
    24-25: the facts and the main considerations, required for a refusal or a partial grant)."""

    outcome: Outcome
    legal_basis: ShortText
    case_officer: ShortText | None = Field(
        default=None,
        description="Who decided; the caller's name from the token (the name claim) when it "
        "has one, then this, then the token's subject",
    )
    facts: Text | None = Field(
        default=None, description="The facts the decision builds on (fvl § 25)"
    )
    considerations: Text | None = Field(
        default=None, description="The main considerations of the assessment (fvl § 25)"
    )
    valid_until: IsoDate | None = Field(
        default=None,
        description="A permit granted for a time: its last day (default: the service's period)",
    )


class DeliveryBody(Step):
    """The day the vedtak reached the party (fvl § 29: the appeal period runs from it)."""

    delivered_on: IsoDate


class AppealBody(Step):
    """A klage arrived (fvl § 32): the day it came, the day it was sent when known (fvl § 30:
    in time if sent in time), and whether the appellant is a party (fvl § 28)."""

    received_on: IsoDate
    sent_on: IsoDate | None = Field(
        default=None, description="When it was posted or sent; in time if within the klagefrist"
    )
    party: bool = Field(
        default=True, description="False: the appellant is no party to the case (fvl § 28)"
    )


class AppealReviewBody(Step):
    """The deciding body's review (fvl § 33): a new decision reverses it (omgjøring); without
    one the appeal goes on to the service's appeal body (``GET /services``)."""

    decision: DecisionBody | None = None
    appeal_body: ShortText | None = Field(
        default=None,
        description="Leave out for the service's appeal body; any other is refused "
        "(appeal-body-not-competent)",
    )


class AppealDismissalBody(Step):
    """Avvisning (fvl §§ 28, 31-34): the appeal is not tried on its merits."""

    ground: DismissalGround
    by: AppealStage = Field(
        description="deciding-body before the appeal is sent on, appeal-body after"
    )


class AppealResultBody(Step):
    """The appeal body's answer (fvl § 34): upheld, reversed (with its own decision, which
    becomes the case's outcome) or repealed (back for a new decision)."""

    result: AppealResult
    decision: DecisionBody | None = Field(
        default=None, description="reversed: the appeal body's decision; otherwise left out"
    )


class WithdrawBody(Step):
    reason: Text


OverrideReason = Annotated[
    str | None,
    Field(
        min_length=3,
        max_length=500,
        description="Only to go against the service's retention policy: why (recorded on the "
        "case; never personal data)",
    ),
]


class ArchiveBody(Step):
    archive_reference: ShortText | None = Field(
        default=None,
        description="Leave out: the case gets its saksmappe number (saksår/sekvensnummer), "
        "the one the Noark 5 export uses",
    )
    override_reason: OverrideReason = None


class ShredBody(Step):
    override_reason: OverrideReason = None


class CommandResult(BaseModel):
    case_id: UUID
    command_id: UUID
    status: str | None = None
    version: int | None = None
    duplicate: bool = False


class AttachmentResult(CommandResult):
    attachment_id: UUID
    sha256: str
    size: int


class FieldError(BaseModel):
    loc: list[str]
    msg: str | None = None
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with our stable ``rule`` code and any field errors."""

    type: str
    title: str
    status: int
    detail: str
    rule: str = Field(description="A stable code, e.g. neighbour-period-running")
    errors: list[FieldError] | None = None
    problems: list[str] | None = None
    request_id: str | None = Field(
        default=None, description="the request's X-Request-ID: on every log line it caused"
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring problem details for these statuses."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {status: {"model": Problem, "content": content} for status in statuses}


# ----- what the read endpoints answer ---------------------------------------------------------

KIND_TYPES: dict[str, Any] = {
    "text": str,
    "int": int,
    "real": float,
    "bool": bool,
    "date": date,
    "timestamp": datetime,
}


def _row(name: str, table: Table, doc: str, **more: Any) -> type[BaseModel]:
    """A read model's row as a model, from its table's columns (so the two cannot drift)."""
    fields: dict[str, Any] = {c: (KIND_TYPES[k] | None, None) for c, k in table.columns}
    fields |= {c: (t | None, None) for c, t in more.items()}
    return create_model(name, __doc__=doc, **fields)


OverviewRow = _row(
    "OverviewRow",
    CASE_OVERVIEW,
    "One case: status, clocks, neighbour notice, appeal (applicant_ref only for caseworkers).",
)
DeadlineRow = _row("DeadlineRow", DEADLINE_WATCH, "A deadline a case still has to meet.")
NeighbourRow = _row("NeighbourRow", NEIGHBOUR_NOTICES, "A neighbour notice and its answers.")
StatsRow = _row(
    "StatsRow",
    SERVICE_STATS,
    "Counts per service and municipality (and day, with per_day), days to decision.",
    median_days_to_decision=float,
    p90_days_to_decision=float,
)


class AttachmentOut(BaseModel):
    attachment_id: UUID
    kind: str
    media_type: str
    size: int
    sha256: str


class CaseOut(BaseModel):
    """A case as it stands (or stood, with ``as_of``)."""

    case_id: UUID
    version: int
    service: str
    kommunenummer: str
    status: str
    created_at: datetime
    submitted_at: datetime | None
    decision_deadline: date | None
    decision: dict[str, Any] | None
    preliminary_reply_due: date | None
    attachments: list[AttachmentOut]
    neighbours_notified: int
    neighbour_deadline: date | None
    archive_reference: str | None


AccessRow = _row("AccessRow", ACCESS_LOG, "One read of a case: who, with which roles, why.")


class EventOut(BaseModel):
    """One event of a case as its public record (docs/messages.md has every type's fields);
    fields marked as personal data read ``[personal data]`` unless asked for, ``[kassert]``
    after kassasjon."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["ApplicationSubmitted"])
    ce_type: str = Field(examples=["no.saksflyt.application.submitted.v4"])
    event_id: UUID
    case_id: UUID
    case_version: int
    occurred_at: datetime
    service: str
    kommunenummer: str


class DraftOut(BaseModel):
    """A draft read back: the form as saved so far, and its attachments."""

    case_id: UUID
    service: str
    form: dict[str, Any]
    attachments: list[AttachmentOut]
    saved_at: datetime


class MessageOut(BaseModel):
    """A letter of the case and what became of it."""

    kind: str = Field(examples=["kvittering"])
    occasion_at: datetime
    message_id: str
    outcome: Literal["sent", "failed", "waiting"]
    channel: str | None
    subject: str
    body: str


class ExportJob(BaseModel):
    """A Noark 5 export: running, done (with its counts) or failed (with why)."""

    job_id: UUID
    municipality: str
    status: Literal["running", "done", "failed"]
    cases: int | None = None
    documents: int | None = None
    reason: str | None = None
