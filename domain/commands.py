"""Commands: what a backend service, a case officer or the HTTP API may ask of a case.

Plain, already-validated data. ``Casework.handle(command)`` is the only way one reaches a case,
whether it came over HTTP, from Kafka or from the demo; ``domain.steps.STEPS`` says what each does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.appeal import AppealStage, DismissalGround
from domain.errors import DomainError
from domain.lifecycle import AppealResult, ReceiptChannel
from domain.values import Attachment, Decision, Neighbour


@dataclass(frozen=True, kw_only=True)
class Command:
    """What every command carries. ``received_at`` is stamped by saksflyt when the command arrives
    (the server's clock); ``issued_at`` is the sender's own time, taken from trusted backend
    services only, and bounded (``domain.timing``)."""

    command_id: UUID
    case_id: UUID
    received_at: datetime
    issued_at: datetime | None = None
    actor: str | None = None  # who sent it (a system, a person): kept with an erasure record


@dataclass(frozen=True, kw_only=True)
class StartApplication(Command):
    service: str
    kommunenummer: str
    form: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RequestContact(StartApplication):
    """«Kontakt meg»: a new case holding only how to reach the person (``contact``: navn and
    telefon or epost, beste_tid), for a caseworker to take up."""

    contact: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class TakeUpContact(Command):
    """The caseworker reached the person: the draft application starts from the contact."""


@dataclass(frozen=True, kw_only=True)
class SaveDraft(Command):
    form: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SubmitApplication(Command):
    form: dict[str, Any] = field(default_factory=dict)
    signed_at: datetime | None = None  # when the applicant signed, if the form portal says


@dataclass(frozen=True, kw_only=True)
class SubmitNewApplication(StartApplication):
    """Start and submit in one step: stored together or not at all (no draft left behind)."""

    signed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class AddAttachment(Command):
    attachment: Attachment


@dataclass(frozen=True, kw_only=True)
class SendReceipt(Command):
    channel: ReceiptChannel
    message_id: str
    address: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordMessage(Command):
    """What became of a letter the notices policy sent (kind: kvittering, vedtak, ...): sent,
    or failed for good. A sent receipt is recorded as ``ReceiptSent``."""

    kind: str
    channel: str
    message_id: str
    failure: str | None = None  # why it failed for good (no personal values); None: sent
    attempts: int = 1
    address: str | None = None  # where a receipt went (sealed with the case's personal data)


@dataclass(frozen=True, kw_only=True)
class RecordDecisionDelivery(Command):
    """The vedtak reached the party on ``delivered_on`` (a letter by post, a signed receipt):
    the appeal period runs from then (fvl § 29)."""

    delivered_on: date


@dataclass(frozen=True, kw_only=True)
class RequestConsultation(Command):
    """Ask ``party`` (e.g. politiet, sosialtjenesten) for its statement (alkoholloven § 1-7)."""

    party: str


@dataclass(frozen=True, kw_only=True)
class RecordConsultationAnswer(Command):
    """``party``'s statement arrived: ``objection`` if it advises against."""

    party: str
    objection: bool


@dataclass(frozen=True, kw_only=True)
class RecordSurvey(Command):
    """The oppmålingsforretning after the permit was held on ``held_on`` (matrikkelforskriften)."""

    held_on: date


@dataclass(frozen=True, kw_only=True)
class DeemPermitGranted(Command):
    """The building case's three weeks ran out undecided: the permit is granted by law
    (pbl § 21-7 tredje ledd). Issued by ``saksflyt clocks run``, refused where the law says no."""


@dataclass(frozen=True, kw_only=True)
class ExpireDraft(Command):
    """A draft untouched for ``after_days`` is withdrawn and its personal data erased."""

    after_days: int


@dataclass(frozen=True, kw_only=True)
class ReceiveAppeal(Command):
    """A klage on the decision arrived on ``received_on`` (fvl § 32: to the body that decided);
    ``sent_on``: the day it was posted or sent, when known (fvl § 30: in time if sent in time);
    ``party``: False where the appellant is not a party to the case (fvl § 28)."""

    received_on: date
    sent_on: date | None = None
    party: bool = True


@dataclass(frozen=True, kw_only=True)
class ReviewAppeal(Command):
    """The deciding body's review (fvl § 33): ``decision`` reverses (omgjøring, a new vedtak);
    without one the appeal goes on to the service's appeal body (``appeal_body``, when given,
    must be that one)."""

    decision: Decision | None = None
    appeal_body: str | None = None


@dataclass(frozen=True, kw_only=True)
class DismissAppeal(Command):
    """Avvisning (fvl §§ 28, 31-34): the appeal is not tried on its merits, on ``ground``,
    by the deciding body or the appeal body (``by``)."""

    ground: DismissalGround
    by: AppealStage


@dataclass(frozen=True, kw_only=True)
class RecordAppealResult(Command):
    """The appeal body's answer (fvl § 34), as it reached the municipality; a reversal carries
    the appeal body's own ``decision``."""

    result: AppealResult
    decision: Decision | None = None


@dataclass(frozen=True, kw_only=True)
class SendNeighbourNotice(Command):
    """Nabovarsel, before the application is submitted (pbl § 21-3): ``neighbours`` names each
    property by matrikkelnummer, ``parties`` says who is notified there (name, address, role)."""

    neighbours: list[str]
    parties: list[Neighbour] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class RecordNeighbourComment(Command):
    neighbour: str
    objection: bool


@dataclass(frozen=True, kw_only=True)
class RecordNeighbourConsent(Command):
    neighbour: str


@dataclass(frozen=True, kw_only=True)
class RequestMissingDocuments(Command):
    kinds: list[str]
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResumeProcessing(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class SendPreliminaryReply(Command):
    reason: str
    expected_by: date


@dataclass(frozen=True, kw_only=True)
class Decide(Command):
    decision: Decision


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class Archive(Command):
    archive_reference: str
    override_reason: str | None = None  # an archivist going against the retention policy


@dataclass(frozen=True, kw_only=True)
class Shred(Command):
    reason: str | None = None  # why (kept in the erasure record; no personal data)
    override_reason: str | None = None  # an archivist going against the retention policy


@dataclass(frozen=True, kw_only=True)
class ApplyRetention(Command):
    """Archive or shred a closed case once its service's retention says so (refused before)."""

    archive_reference: str


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"  # the case changed; its events and the command id are stored together
    REJECTED = "rejected"  # the rules refused it; the command id is recorded, nothing else
    DUPLICATE = "duplicate"  # this command id was handled before; nothing changed now


@dataclass(frozen=True)
class Handled:
    """What became of one command."""

    command: Command
    verdict: Verdict
    version: int | None = None  # the case's version afterwards (accepted)
    status: str | None = None  # the case's status afterwards (accepted)
    refusal: DomainError | None = None  # why it was rejected

    @property
    def code(self) -> str | None:
        return self.refusal.code if self.refusal else None
