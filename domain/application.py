"""The application (søknad) aggregate: guard, then record an event.

Every public method checks the rules first and raises :class:`InvalidTransition` before anything
changes; the private ``@event`` methods only record. Event topics are pinned (``saksflyt.application.*``)
so moving or renaming this class never breaks replay of stored events.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import deadlines
from domain.case_view import CaseView
from domain.errors import InvalidTransition
from domain.forms import check_draft, complete_form, contact_email, is_urgent
from domain.lifecycle import UNDECIDED, Outcome, ReceiptChannel, Status, local_date
from domain.services import Service

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Application(CaseView, Aggregate):
    """One application from one applicant to one municipality for one service."""

    TOPIC = "saksflyt.application"

    @event("Created", topic="saksflyt.application.created")
    def __init__(self, service: str, kommunenummer: str, at: datetime, *, id: UUID) -> None:
        self.service = service
        self.kommunenummer = kommunenummer
        self.status_value = Status.DRAFT.value
        self.created_at = at
        self.last_event_at = at
        self.form: dict[str, Any] = {}
        self.attachments: list[dict[str, Any]] = []
        self.submitted_at: datetime | None = None
        self.decision_days: int | None = None
        self.objection_decision_days: int | None = None
        self.pauses: list[dict[str, date | None]] = []
        self.requested_documents: list[str] = []
        self.receipts: list[dict[str, Any]] = []
        self.neighbours: list[str] = []
        self.neighbour_deadline: date | None = None
        self.neighbour_responses: dict[str, str] = {}  # neighbour -> "consent" | "objection"
        self.preliminary_reply_at: datetime | None = None
        self.decision: dict[str, Any] | None = None
        self.closed_at: datetime | None = None
        self.archive_reference: str | None = None

    # ----- guards -------------------------------------------------------------------------------

    def _refuse(self, step: str, rule: str) -> InvalidTransition:
        return InvalidTransition(self.id, self.status.value, step, rule)

    def _guard(self, step: str, at: datetime, allowed: Collection[Status]) -> None:
        if self.status is Status.SHREDDED:
            raise self._refuse(step, "the case is shredded (kassert); nothing may follow")
        if at.tzinfo is None:
            raise self._refuse(step, "the time must carry a time zone")
        if at < self.last_event_at:
            raise self._refuse(
                step,
                f"time {at.isoformat()} is before the previous event "
                f"({self.last_event_at.isoformat()})",
            )
        if self.status not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise self._refuse(step, f"only allowed while the case is {names}")

    def _guard_attachment_kinds(self, step: str, kinds: Iterable[str], service: Service) -> None:
        unknown = sorted(set(kinds) - service.allowed_attachments)
        if unknown:
            allowed = ", ".join(sorted(service.allowed_attachments)) or "none"
            raise self._refuse(
                step, f"{service.code} takes no attachment of kind {unknown}; allowed: {allowed}"
            )

    # ----- use cases: the applicant ---------------------------------------------------------------

    def save_draft(self, form: dict[str, Any], at: datetime) -> None:
        """Mellomlagring: keep a partial form; what it holds must already be valid."""
        self._guard("save draft", at, (Status.DRAFT,))
        check_draft(self.service, form)
        self._draft_saved(form=form, at=at)

    def add_attachment(
        self,
        attachment_id: UUID,
        kind: str,
        media_type: str,
        size: int,
        sha256: str,
        storage_ref: str,
        at: datetime,
        service: Service,
    ) -> None:
        """A vedlegg: its metadata and where the bytes are stored, never the bytes themselves."""
        self._guard("add attachment", at, UNDECIDED)
        self._guard_attachment_kinds("add attachment", [kind], service)
        if size <= 0:
            raise self._refuse("add attachment", "an attachment must have a size above 0 bytes")
        if not SHA256_HEX.match(sha256):
            raise self._refuse("add attachment", "sha256 must be 64 lowercase hex digits")
        if any(a["attachment_id"] == attachment_id for a in self.attachments):
            raise self._refuse("add attachment", f"attachment {attachment_id} is already added")
        self._attachment_added(
            attachment_id=attachment_id,
            kind=kind,
            media_type=media_type,
            size=size,
            sha256=sha256,
            storage_ref=storage_ref,
            at=at,
        )
        if self.status is Status.AWAITING_DOCUMENTS and not self._missing_requested():
            self._processing_resumed(at=at)

    def submit(self, form: dict[str, Any], at: datetime, service: Service) -> None:
        """Send the application: the form must be complete and required attachments present."""
        self._guard("submit", at, (Status.DRAFT,))
        complete = complete_form(self.service, {**self.form, **form})
        missing = sorted(service.required_attachments - self.attachment_kinds)
        if missing:
            raise self._refuse("submit", f"{service.code} requires attachments {missing}")
        days = service.decision_days
        if is_urgent(complete) and service.urgent_decision_days is not None:
            days = service.urgent_decision_days
        self._submitted(
            form=complete,
            at=at,
            decision_days=days,
            objection_decision_days=service.objection_decision_days,
        )

    def withdraw(self, reason: str, at: datetime) -> None:
        self._guard("withdraw", at, UNDECIDED)
        self._withdrawn(reason=reason, at=at)

    # ----- use cases: the municipality ---------------------------------------------------------

    def send_receipt(
        self, channel: ReceiptChannel, message_id: str, at: datetime, address: str | None = None
    ) -> None:
        """Kvittering: tell the applicant the application arrived (to the form's e-mail by default)."""
        self._guard(
            "send receipt", at, (Status.SUBMITTED, Status.AWAITING_DOCUMENTS, Status.DECIDED)
        )
        address = address or contact_email(self.form)
        if not address:
            raise self._refuse("send receipt", "the form gives no return address for a receipt")
        self._receipt_sent(channel=channel.value, address=address, message_id=message_id, at=at)

    def request_missing_documents(
        self, kinds: list[str], reason: str, at: datetime, service: Service
    ) -> None:
        """Ask for more documents; the decision clock stands until they arrive."""
        self._guard("request missing documents", at, (Status.SUBMITTED,))
        if not kinds:
            raise self._refuse("request missing documents", "name at least one document kind")
        self._guard_attachment_kinds("request missing documents", kinds, service)
        self._missing_documents_requested(kinds=sorted(set(kinds)), reason=reason, at=at)

    def resume_processing(self, at: datetime) -> None:
        """The case officer finds the application complete even without every requested kind."""
        self._guard("resume processing", at, (Status.AWAITING_DOCUMENTS,))
        self._processing_resumed(at=at)

    def send_neighbour_notice(self, neighbours: list[str], at: datetime, service: Service) -> None:
        """Nabovarsel: neighbours get 14 days to comment (pbl § 21-3)."""
        self._guard("send neighbour notice", at, UNDECIDED)
        if not service.neighbour_notice:
            raise self._refuse("send neighbour notice", f"{service.code} has no neighbour notice")
        if self.neighbours:
            raise self._refuse("send neighbour notice", "the neighbours are already notified")
        if not neighbours or len(set(neighbours)) != len(neighbours):
            raise self._refuse("send neighbour notice", "name each neighbour once, at least one")
        deadline = deadlines.neighbour_comment_deadline(local_date(at))
        self._neighbour_notice_sent(neighbours=neighbours, comment_deadline=deadline, at=at)

    def record_neighbour_comment(self, neighbour: str, objection: bool, at: datetime) -> None:
        """A merknad from a neighbour; an objection lengthens a building case's clock."""
        self._guard_neighbour("record neighbour comment", neighbour, at)
        self._neighbour_comment_received(neighbour=neighbour, objection=objection, at=at)

    def record_neighbour_consent(self, neighbour: str, at: datetime) -> None:
        """Samtykke: the neighbour has no objection, so the comment period need not run out."""
        self._guard_neighbour("record neighbour consent", neighbour, at)
        self._neighbour_consent_received(neighbour=neighbour, at=at)

    def _guard_neighbour(self, step: str, neighbour: str, at: datetime) -> None:
        self._guard(step, at, UNDECIDED)
        if neighbour not in self.neighbours:
            raise self._refuse(step, f"neighbour {neighbour!r} was not notified in this case")
        if neighbour in self.neighbour_responses:
            raise self._refuse(step, f"neighbour {neighbour!r} has already answered")

    def send_preliminary_reply(self, reason: str, expected_by: date, at: datetime) -> None:
        """Foreløpig svar (fvl § 11 a): why it takes time and when to expect a decision."""
        self._guard("send preliminary reply", at, (Status.SUBMITTED, Status.AWAITING_DOCUMENTS))
        if self.preliminary_reply_at is not None:
            raise self._refuse("send preliminary reply", "a preliminary reply was already sent")
        if expected_by <= local_date(at):
            raise self._refuse("send preliminary reply", "expected_by must be a later date")
        self._preliminary_reply_sent(reason=reason, expected_by=expected_by, at=at)

    def decide(
        self, outcome: Outcome, legal_basis: str, case_officer: str, at: datetime, service: Service
    ) -> None:
        """Vedtak. The appeal deadline (fvl § 29) runs from the decision date."""
        self._guard("decide", at, (Status.SUBMITTED,))
        if service.neighbour_notice:
            self._guard_neighbour_period(at)
        appeal = deadlines.appeal_deadline(local_date(at))
        self._decision_made(
            outcome=outcome.value,
            legal_basis=legal_basis,
            case_officer=case_officer,
            appeal_deadline=appeal,
            at=at,
        )

    def _guard_neighbour_period(self, at: datetime) -> None:
        if not self.neighbours:
            raise self._refuse("decide", "neighbours must be notified first (pbl § 21-3)")
        assert self.neighbour_deadline is not None
        if local_date(at) <= self.neighbour_deadline and not self.all_neighbours_consented:
            raise self._refuse(
                "decide",
                f"the neighbour comment period runs until {self.neighbour_deadline} "
                "and not every neighbour has consented (pbl § 21-3)",
            )

    def archive(self, archive_reference: str, at: datetime) -> None:
        """Arkivering (bevares): after the appeal period, or after a withdrawal."""
        self._guard_closable("archive", at)
        self._archived(archive_reference=archive_reference, at=at)

    def shred(self, at: datetime) -> None:
        """Kassasjon: destroyed after the appeal period, or after a withdrawal."""
        self._guard_closable("shred", at)
        self._shredded(at=at)

    def _guard_closable(self, step: str, at: datetime) -> None:
        self._guard(step, at, (Status.DECIDED, Status.WITHDRAWN))
        appeal = self.appeal_deadline
        if self.status is Status.DECIDED and appeal is not None and local_date(at) <= appeal:
            raise self._refuse(step, f"the appeal period (fvl § 29) runs until {appeal}")

    def _missing_requested(self) -> list[str]:
        return sorted(set(self.requested_documents) - self.attachment_kinds)

    # ----- events: record only -------------------------------------------------------------------

    def _touch(self, at: datetime) -> None:
        self.last_event_at = at

    @event("DraftSaved", topic="saksflyt.application.draft-saved")
    def _draft_saved(self, form: dict[str, Any], at: datetime) -> None:
        self.form = {**self.form, **form}
        self._touch(at)

    @event("AttachmentAdded", topic="saksflyt.application.attachment-added")
    def _attachment_added(
        self,
        attachment_id: UUID,
        kind: str,
        media_type: str,
        size: int,
        sha256: str,
        storage_ref: str,
        at: datetime,
    ) -> None:
        self.attachments.append(
            {
                "attachment_id": attachment_id,
                "kind": kind,
                "media_type": media_type,
                "size": size,
                "sha256": sha256,
                "storage_ref": storage_ref,
            }
        )
        self._touch(at)

    @event("Submitted", topic="saksflyt.application.submitted")
    def _submitted(
        self,
        form: dict[str, Any],
        at: datetime,
        decision_days: int | None,
        objection_decision_days: int | None,
    ) -> None:
        self.form = form
        self.submitted_at = at
        self.decision_days = decision_days
        self.objection_decision_days = objection_decision_days
        self.status_value = Status.SUBMITTED.value
        self._touch(at)

    @event("ReceiptSent", topic="saksflyt.application.receipt-sent")
    def _receipt_sent(self, channel: str, address: str, message_id: str, at: datetime) -> None:
        self.receipts.append({"channel": channel, "message_id": message_id, "at": at})
        self._touch(at)

    @event("MissingDocumentsRequested", topic="saksflyt.application.missing-documents-requested")
    def _missing_documents_requested(self, kinds: list[str], reason: str, at: datetime) -> None:
        self.requested_documents = kinds
        self.pauses.append({"start": local_date(at), "end": None})
        self.status_value = Status.AWAITING_DOCUMENTS.value
        self._touch(at)

    @event("ProcessingResumed", topic="saksflyt.application.processing-resumed")
    def _processing_resumed(self, at: datetime) -> None:
        self.pauses[-1] = {**self.pauses[-1], "end": local_date(at)}
        self.requested_documents = []
        self.status_value = Status.SUBMITTED.value
        self._touch(at)

    @event("NeighbourNoticeSent", topic="saksflyt.application.neighbour-notice-sent")
    def _neighbour_notice_sent(
        self, neighbours: list[str], comment_deadline: date, at: datetime
    ) -> None:
        self.neighbours = list(neighbours)
        self.neighbour_deadline = comment_deadline
        self._touch(at)

    @event("NeighbourCommentReceived", topic="saksflyt.application.neighbour-comment-received")
    def _neighbour_comment_received(self, neighbour: str, objection: bool, at: datetime) -> None:
        self.neighbour_responses[neighbour] = "objection" if objection else "comment"
        self._touch(at)

    @event("NeighbourConsentReceived", topic="saksflyt.application.neighbour-consent-received")
    def _neighbour_consent_received(self, neighbour: str, at: datetime) -> None:
        self.neighbour_responses[neighbour] = "consent"
        self._touch(at)

    @event("PreliminaryReplySent", topic="saksflyt.application.preliminary-reply-sent")
    def _preliminary_reply_sent(self, reason: str, expected_by: date, at: datetime) -> None:
        self.preliminary_reply_at = at
        self._touch(at)

    @event("DecisionMade", topic="saksflyt.application.decision-made")
    def _decision_made(
        self,
        outcome: str,
        legal_basis: str,
        case_officer: str,
        appeal_deadline: date,
        at: datetime,
    ) -> None:
        self.decision = {
            "outcome": outcome,
            "legal_basis": legal_basis,
            "case_officer": case_officer,
            "appeal_deadline": appeal_deadline,
            "at": at,
        }
        self.status_value = Status.DECIDED.value
        self._touch(at)

    @event("Withdrawn", topic="saksflyt.application.withdrawn")
    def _withdrawn(self, reason: str, at: datetime) -> None:
        self.status_value = Status.WITHDRAWN.value
        self.closed_at = at
        self._touch(at)

    @event("Archived", topic="saksflyt.application.archived")
    def _archived(self, archive_reference: str, at: datetime) -> None:
        self.archive_reference = archive_reference
        self.status_value = Status.ARCHIVED.value
        self.closed_at = self.closed_at or at
        self._touch(at)

    @event("Shredded", topic="saksflyt.application.shredded")
    def _shredded(self, at: datetime) -> None:
        self.status_value = Status.SHREDDED.value
        self.closed_at = self.closed_at or at
        self._touch(at)
