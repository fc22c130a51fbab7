"""The application (søknad) aggregate: its state and its events.

The steps of the process live in small units, one per sub-process, each with its own guards
(``domain.submission``, ``documents``, ``neighbours``, ``consultations``, ``decision``, ``appeal``,
``closing``); which step may be taken in which status, by whom, comes from the process definition
(``domain.process``). Every step checks its rules first and raises :class:`InvalidTransition`
before anything changes; the ``@event`` methods here only record. Event topics are pinned
(``saksflyt.application.*``) so moving or renaming this class never breaks replay of stored events.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import deadlines
from domain.appeal import AppealTrack
from domain.case_view import DEEMED_GRANTED
from domain.closing import ClosingTrack
from domain.consultations import ConsultationTrack
from domain.decision import DecisionTrack
from domain.documents import DocumentTrack
from domain.forms import deep_merge
from domain.lifecycle import AppealResult, Outcome, Status, local_date
from domain.neighbours import NeighbourTrack
from domain.submission import SubmissionTrack


class Application(
    SubmissionTrack,
    DocumentTrack,
    NeighbourTrack,
    ConsultationTrack,
    DecisionTrack,
    AppealTrack,
    ClosingTrack,
    Aggregate,
):
    """One application from one applicant to one municipality for one service."""

    TOPIC = "saksflyt.application"
    signed_at: datetime | None = None  # when the applicant signed, as the form portal said
    messages: tuple[dict[str, Any], ...] = ()  # letters other than receipts: sent or failed
    late: bool | None = None  # a høringssvar after the closing date
    appeal: dict[str, Any] | None = None  # the klage: received, review due, forwarded, result
    final: bool = False  # the appeal body has answered: no further appeal
    neighbour_parties: tuple[dict[str, str], ...] = ()  # who the nabovarsel went to
    late_comments: tuple[str, ...] = ()  # neighbours whose comment came after the period
    consultations: tuple[dict[str, Any], ...] = ()  # party, answer_by, answered, objection
    survey: dict[str, Any] | None = None  # kartforretning: due, held_on (matrikkelforskriften)
    contact: dict[str, Any] | None = None  # «kontakt meg»: how to reach the person
    contact_taken_up: bool = False
    clock_from: date | None = None  # the decision clock's start when not the submission day
    submitted_decision_due: date | None = None  # as the receipt promised it
    decide_by: date | None = None  # a date the decision comes by, whatever (gravemelding)
    superseded: tuple[dict[str, Any], ...] = ()  # decisions the appeal body repealed
    reasons: dict[str, str | None] | None = None  # the vedtak's facts and considerations

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

    # ----- events: record only -------------------------------------------------------------------

    def _touch(self, at: datetime) -> None:
        self.last_event_at = at

    @event("DraftSaved", topic="saksflyt.application.draft-saved")
    def _draft_saved(self, form: dict[str, Any], at: datetime) -> None:
        self.form = deep_merge(self.form, form)
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
        record = {"attachment_id": attachment_id, "kind": kind, "media_type": media_type}
        self.attachments.append(
            record | {"size": size, "sha256": sha256, "storage_ref": storage_ref}
        )
        self._touch(at)

    @event("Submitted", topic="saksflyt.application.submitted")
    def _submitted(
        self,
        form: dict[str, Any],
        at: datetime,
        decision_days: int | None,
        objection_decision_days: int | None,
        signed_at: datetime | None = None,  # absent from events stored before it was recorded
        applicant_ref: str | None = None,  # a pseudonym of the applicant, for the read models
        late: bool | None = None,  # after the consultation's closing date (a høringssvar)
        decision_due: date | None = None,  # the clocks as they start (absent before v5)
        preliminary_reply_due: date | None = None,
        deemed_granted_on: date | None = None,
        decide_by: date | None = None,  # gravemelding: the last working day before the work
    ) -> None:
        self.late = late
        self.decide_by = decide_by
        self.form = form
        self.submitted_at = at
        self.submitted_decision_due = (
            decision_due
            if decision_due is not None
            else deadlines.decision_due_when_stored_without(at, decision_days)  # before v5
        )
        self.signed_at = signed_at
        self.decision_days = decision_days
        self.objection_decision_days = objection_decision_days
        self.status_value = Status.SUBMITTED.value
        self._touch(at)

    @event("ReceiptSent", topic="saksflyt.application.receipt-sent")
    def _receipt_sent(self, channel: str, address: str, message_id: str, at: datetime) -> None:
        self.receipts.append({"channel": channel, "message_id": message_id, "at": at})
        self._touch(at)

    @event("MessageSent", topic="saksflyt.application.message-sent")
    def _message_sent(
        self, kind: str, channel: str, message_id: str, attempts: int, at: datetime
    ) -> None:
        self.messages = (*self.messages, {"message_id": message_id, "kind": kind})
        self._touch(at)

    @event("MessageFailed", topic="saksflyt.application.message-failed")
    def _message_failed(
        self, kind: str, channel: str, message_id: str, attempts: int, reason: str, at: datetime
    ) -> None:
        self.messages = (*self.messages, {"message_id": message_id, "kind": kind, "failed": reason})
        self._touch(at)

    @event("MissingDocumentsRequested", topic="saksflyt.application.missing-documents-requested")
    def _missing_documents_requested(
        self,
        kinds: list[str],
        reason: str,
        at: datetime,
        respond_by: date | None = None,  # absent from requests stored before v2
    ) -> None:
        self.requested_documents = kinds
        self.pauses.append({"start": local_date(at), "end": None})
        self.status_value = Status.AWAITING_DOCUMENTS.value
        self._touch(at)

    @event("ProcessingResumed", topic="saksflyt.application.processing-resumed")
    def _processing_resumed(
        self,
        at: datetime,
        decision_due: date | None = None,  # absent from events stored before v2
        deemed_granted_on: date | None = None,
    ) -> None:
        self.pauses[-1] = {**self.pauses[-1], "end": local_date(at)}
        self.requested_documents = []
        self.status_value = Status.SUBMITTED.value
        self._touch(at)

    @event("NeighbourNoticeSent", topic="saksflyt.application.neighbour-notice-sent")
    def _neighbour_notice_sent(
        self,
        neighbours: list[str],
        comment_deadline: date,
        at: datetime,
        parties: list[dict[str, str]] | None = None,  # absent from notices stored before
    ) -> None:
        self.neighbours = list(neighbours)
        self.neighbour_parties = tuple(parties or [])
        self.neighbour_deadline = comment_deadline
        self._touch(at)

    @event("NeighbourCommentReceived", topic="saksflyt.application.neighbour-comment-received")
    def _neighbour_comment_received(
        self,
        neighbour: str,
        objection: bool,
        at: datetime,
        late: bool = False,
        deemed_granted_on: date | None = None,  # after it, while submitted (absent before v3)
    ) -> None:
        self.neighbour_responses[neighbour] = "objection" if objection else "comment"
        if late:
            self.late_comments = (*self.late_comments, neighbour)
        self._touch(at)

    @event("NeighbourConsentReceived", topic="saksflyt.application.neighbour-consent-received")
    def _neighbour_consent_received(self, neighbour: str, at: datetime) -> None:
        self.neighbour_responses[neighbour] = "consent"
        self._touch(at)

    @event("ConsultationRequested", topic="saksflyt.application.consultation-requested")
    def _consultation_requested(self, party: str, answer_by: date, at: datetime) -> None:
        asked = {"party": party, "answer_by": answer_by, "answered": False, "objection": None}
        self.consultations = (*self.consultations, asked)
        self._touch(at)

    @event("ConsultationAnswered", topic="saksflyt.application.consultation-answered")
    def _consultation_answered(
        self,
        party: str,
        objection: bool,
        late: bool,
        at: datetime,
        consultation_due: date | None = None,  # the others' latest answer-by (absent before v2)
    ) -> None:
        self.consultations = tuple(
            {**c, "answered": True, "objection": objection} if c["party"] == party else c
            for c in self.consultations
        )
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
        facts: str | None = None,  # the reasons (fvl § 25), sealed; None in events before v2
        considerations: str | None = None,
        valid_until: date | None = None,  # a permit granted for a time
    ) -> None:
        self.decision = {"outcome": outcome, "legal_basis": legal_basis, "at": at}
        self.decision |= {"case_officer": case_officer, "appeal_deadline": appeal_deadline}
        self.decision["valid_until"] = valid_until
        self.reasons = {"facts": facts, "considerations": considerations}
        self.status_value = Status.DECIDED.value
        self._touch(at)

    @event("PermitDeemedGranted", topic="saksflyt.application.permit-deemed-granted")
    def _permit_deemed_granted(
        self, decision_deadline: date, appeal_deadline: date, at: datetime
    ) -> None:
        self.decision = {
            "outcome": Outcome.GRANTED.value,
            "legal_basis": DEEMED_GRANTED,
            "case_officer": "",  # nobody decided: the law did
            "appeal_deadline": appeal_deadline,
            "at": at,
        }
        self.status_value = Status.DECIDED.value
        self._touch(at)

    @event("ContactRequested", topic="saksflyt.application.contact-requested")
    def _contact_requested(self, contact: dict[str, Any], at: datetime) -> None:
        self.contact = contact
        self._touch(at)

    @event("ContactTakenUp", topic="saksflyt.application.contact-taken-up")
    def _contact_taken_up(self, at: datetime) -> None:
        self.contact_taken_up = True
        self._touch(at)

    @event("SurveyClockStarted", topic="saksflyt.application.survey-clock-started")
    def _survey_clock_started(self, survey_due: date, at: datetime) -> None:
        self.survey = {"due": survey_due, "held_on": None}
        self._touch(at)

    @event("SurveyCompleted", topic="saksflyt.application.survey-completed")
    def _survey_completed(self, held_on: date, late: bool, at: datetime) -> None:
        assert self.survey is not None
        self.survey = {**self.survey, "held_on": held_on}
        self._touch(at)

    @event("DecisionDelivered", topic="saksflyt.application.decision-delivered")
    def _decision_delivered(self, delivered_on: date, appeal_deadline: date, at: datetime) -> None:
        assert self.decision is not None
        self.decision = {
            **self.decision,
            "delivered_on": delivered_on,
            "appeal_deadline": appeal_deadline,
        }
        self._touch(at)

    @event("AppealReceived", topic="saksflyt.application.appeal-received")
    def _appeal_received(
        self,
        received_on: date,
        timely: bool,
        review_due: date,
        at: datetime,
        sent_on: date | None = None,  # absent from appeals stored before v2
        within_a_year: bool = True,
        party: bool = True,
    ) -> None:
        self.appeal = {
            "received_on": received_on,
            "sent_on": sent_on,
            "timely": timely,
            "within_a_year": within_a_year,
            "party": party,
            "review_due": review_due,
        }
        self.status_value = Status.APPEALED.value
        self._touch(at)

    @event("AppealForwarded", topic="saksflyt.application.appeal-forwarded")
    def _appeal_forwarded(self, appeal_body: str, at: datetime) -> None:
        self.appeal = {**(self.appeal or {}), "forwarded_to": appeal_body, "forwarded_at": at}
        self._touch(at)

    @event("AppealReviewed", topic="saksflyt.application.appeal-reviewed")
    def _appeal_reviewed(self, reversed: bool, at: datetime) -> None:
        self.appeal = {**(self.appeal or {}), "reversed": reversed}
        self._touch(at)

    @event("AppealDismissed", topic="saksflyt.application.appeal-dismissed")
    def _appeal_dismissed(
        self, ground: str, by: str, appeal_deadline: date | None, at: datetime
    ) -> None:
        self.appeal = {**(self.appeal or {}), "result": "dismissed", "ground": ground}
        self._decision_stands(at, appeal_deadline)

    @event("AppealDecided", topic="saksflyt.application.appeal-decided")
    def _appeal_decided(
        self,
        result: str,
        at: datetime,
        outcome: str | None = None,  # reversed: the appeal body's outcome (absent before v2)
        legal_basis: str | None = None,
        decision_due: date | None = None,  # repealed: the new decision clock
        preliminary_reply_due: date | None = None,  # repealed: fvl § 11 a from that day
    ) -> None:
        self.appeal = {**(self.appeal or {}), "result": result}
        if result == AppealResult.REPEALED.value and self.decision is not None:
            self.superseded = (*self.superseded, self.decision)
            self.decision, self.pauses = None, []
            self.clock_from = local_date(at)
            self.status_value = Status.SUBMITTED.value
            self._touch(at)
            return
        if outcome is not None and self.decision is not None:
            basis = legal_basis or self.decision["legal_basis"]
            self.decision = {**self.decision, "outcome": outcome, "legal_basis": basis}
        self._decision_stands(at, None)

    def _decision_stands(self, at: datetime, appeal_deadline: date | None) -> None:
        """Back to decided: with a new klagefrist, or final (None: nothing left to appeal,
        closable from the next day)."""
        self.final = appeal_deadline is None
        self.status_value = Status.DECIDED.value
        if self.decision is not None:
            self.decision = {**self.decision, "appeal_deadline": appeal_deadline or local_date(at)}
        self._touch(at)

    @event("Withdrawn", topic="saksflyt.application.withdrawn")
    def _withdrawn(self, reason: str, at: datetime) -> None:
        self.status_value = Status.WITHDRAWN.value
        self.closed_at = at
        self._touch(at)

    @event("Archived", topic="saksflyt.application.archived")
    def _archived(
        self, archive_reference: str, at: datetime, override_reason: str | None = None
    ) -> None:
        self.archive_reference = archive_reference
        self.status_value = Status.ARCHIVED.value
        self.closed_at = self.closed_at or at
        self._touch(at)

    @event("Shredded", topic="saksflyt.application.shredded")
    def _shredded(self, at: datetime, override_reason: str | None = None) -> None:
        self.status_value = Status.SHREDDED.value
        self.closed_at = self.closed_at or at
        self._touch(at)
