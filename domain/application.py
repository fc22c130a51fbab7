"""The application (søknad) aggregate: guard, then record an event.

Every public method checks the rules first and raises :class:`InvalidTransition` before anything
changes; the private ``@event`` methods only record. Event topics are pinned (``saksflyt.application.*``)
so moving or renaming this class never breaks replay of stored events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import deadlines
from domain.appeal import AppealTrack
from domain.case_view import DEEMED_GRANTED
from domain.forms import (
    applicant_identifier,
    check_contact,
    check_draft,
    complete_form,
    contact_email,
    deep_merge,
    is_urgent,
    needs_longer_clock,
)
from domain.lifecycle import AppealResult, Outcome, ReceiptChannel, Status, local_date
from domain.retention import RetentionAction
from domain.services import Service
from domain.values import Attachment, Decision, Neighbour


class Application(AppealTrack, Aggregate):
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
    superseded: tuple[dict[str, Any], ...] = ()  # decisions the appeal body repealed

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

    # ----- use cases: the applicant ---------------------------------------------------------------

    def save_draft(self, form: dict[str, Any], at: datetime) -> None:
        """Mellomlagring: keep a partial form; what it holds must already be valid."""
        self._guard("save draft", at)
        check_draft(self.service, deep_merge(self.form, form))
        self._draft_saved(form=form, at=at)

    def add_attachment(self, attachment: Attachment, at: datetime, service: Service) -> None:
        """A vedlegg: its metadata and where the bytes are stored, never the bytes themselves."""
        self._guard_attachment("add attachment", attachment, at, service)
        self._attachment_added(**attachment.as_record(), at=at)
        if self.status is Status.AWAITING_DOCUMENTS and not self._missing_requested():
            self._resume(at, service)

    def submit(
        self,
        form: dict[str, Any],
        at: datetime,
        service: Service,
        signed_at: datetime | None = None,
        pseudonym: Callable[[str], str] | None = None,
    ) -> None:
        """Send the application: the form must be complete and required attachments present."""
        self._guard("submit", at)
        complete = complete_form(self.service, deep_merge(self.form, form))
        if service.neighbour_notice:
            self._guard_neighbours_heard(at, complete)
        missing = sorted(service.required_attachments - self.attachment_kinds)
        if missing:
            raise self._refuse(
                "submit",
                "required-attachments-missing",
                f"{service.code} requires attachments {missing}",
            )
        days = service.decision_days
        if is_urgent(complete) and service.urgent_decision_days is not None:
            days = service.urgent_decision_days
        if needs_longer_clock(complete) and service.objection_decision_days is not None:
            days = service.objection_decision_days  # pbl § 21-7: twelve weeks
        if service.decision_before:  # gravemelding: answered before the work starts
            start = self._guard_planned_start(complete, service.decision_before, at)
            days = deadlines.decided_before(start, local_date(at), days)
        due = deadlines.decision_deadline(local_date(at), days)
        self._submitted(
            form=complete,
            at=at,
            decision_days=days,
            objection_decision_days=service.objection_decision_days,
            signed_at=signed_at,
            applicant_ref=_reference(complete, pseudonym),
            late=_after_closing_date(complete, at),
            decision_due=due,
            preliminary_reply_due=(
                deadlines.preliminary_reply_due(local_date(at)) if days is not None else None
            ),
            deemed_granted_on=self._deemed_on(due, days, service),
        )

    def request_contact(self, contact: dict[str, Any], at: datetime, service: Service) -> None:
        """«Kontakt meg»: the person leaves a name and a phone number or e-mail, nothing more —
        no identity number, no health data — and a caseworker calls back."""
        self._guard_contact_request(at, service)
        self._contact_requested(contact=check_contact(service.code, contact), at=at)

    def take_up_contact(self, at: datetime, service: Service) -> None:
        """The caseworker reached the person: the application's draft starts with their name and
        e-mail; the rest (identity number, what they need) is filled in together."""
        contact = self._guard_contact_taken_up(at, service)
        self._contact_taken_up(at=at)
        person = {k: contact[k] for k in ("navn", "epost") if k in contact}
        self._draft_saved(form={"soker": person, "tjeneste": "kontakt-meg"}, at=at)

    def expire_draft(self, after_days: int, at: datetime) -> None:
        """An abandoned draft: withdrawn, then shredded — its personal data erased with its key
        (GDPR art. 5 (1) e: kept no longer than needed; it was never sent in)."""
        self._guard("expire draft", at)
        if self.last_event_at > at - timedelta(days=after_days):
            raise self._refuse(
                "expire draft",
                "draft-still-in-use",
                f"the draft was saved within the last {after_days} days",
            )
        self._withdrawn(reason=f"utkastet ble ikke sendt inn på {after_days} dager", at=at)
        self._shredded(at=at, override_reason="utkast som aldri ble sendt inn")

    def withdraw(self, reason: str, at: datetime) -> None:
        self._guard("withdraw", at)
        self._withdrawn(reason=reason, at=at)

    # ----- use cases: the municipality ---------------------------------------------------------

    def send_receipt(
        self, channel: ReceiptChannel, message_id: str, at: datetime, address: str | None = None
    ) -> None:
        """Kvittering: tell the applicant the application arrived (to the form's e-mail by default)."""
        self._guard("send receipt", at)
        address = address or contact_email(self.form)
        if not address:
            raise self._refuse(
                "send receipt",
                "no-return-address",
                "the form gives no return address for a receipt",
            )
        self._receipt_sent(channel=channel.value, address=address, message_id=message_id, at=at)

    def record_message(
        self,
        kind: str,
        channel: str,
        message_id: str,
        at: datetime,
        failure: str | None = None,
        attempts: int = 1,
        address: str | None = None,
        service: Service | None = None,
    ) -> None:
        """A letter to the applicant went out, or failed for good (``failure`` says why): kept
        on the case once per message id. A sent receipt is the case's ``ReceiptSent``; a decision
        letter handed to the applicant's mailbox has reached them that day (fvl § 29)."""
        self._guard("record message", at)
        known = [m["message_id"] for m in (*self.messages, *self.receipts)]
        if message_id in known:
            raise self._refuse(
                "record message", "message-already-recorded", "that message is already recorded"
            )
        if failure is None and kind == "kvittering" and channel != "print":
            self.send_receipt(ReceiptChannel(channel), message_id, at, address)
        elif failure is None:
            self._message_sent(
                kind=kind, channel=channel, message_id=message_id, attempts=attempts, at=at
            )
            if kind == "vedtak" and channel == "email" and service and not self.delivered:
                self.record_delivery(local_date(at), at, service)
        else:
            self._message_failed(
                kind=kind,
                channel=channel,
                message_id=message_id,
                attempts=attempts,
                reason=failure,
                at=at,
            )

    def record_delivery(self, delivered_on: date, at: datetime, service: Service) -> None:
        """The vedtak reached the party: the appeal period counts from this day (fvl § 29;
        pasient- og brukerrettighetsloven § 7-5 for care services)."""
        self._guard_delivery(delivered_on, at)
        appeal = deadlines.appeal_deadline(delivered_on, service.appeal_days)
        self._decision_delivered(delivered_on=delivered_on, appeal_deadline=appeal, at=at)

    def request_missing_documents(
        self, kinds: list[str], reason: str, at: datetime, service: Service
    ) -> None:
        """Ask for more documents; the decision clock stands until they arrive."""
        self._guard_document_request(kinds, at, service)
        self._missing_documents_requested(
            kinds=sorted(set(kinds)),
            reason=reason,
            at=at,
            respond_by=deadlines.documents_respond_by(local_date(at)),
        )

    def resume_processing(self, at: datetime, service: Service) -> None:
        """The case officer finds the application complete even without every requested kind."""
        self._guard("resume processing", at)
        self._resume(at, service)

    def _resume(self, at: datetime, service: Service) -> None:
        """The decision clock runs again, lengthened by the days it stood."""
        due = self._due_after_pause(local_date(at))
        self._processing_resumed(
            at=at, decision_due=due, deemed_granted_on=self._deemed_on(due, None, service)
        )

    def send_neighbour_notice(
        self,
        parties: list[Neighbour],
        at: datetime,
        service: Service,
        neighbours: list[str] | None = None,
    ) -> None:
        """Nabovarsel, before the application goes in: neighbours and gjenboere get 14 days to
        comment (pbl § 21-3). ``neighbours``, when given, must name the parties' properties."""
        self._guard_neighbour_notice(parties, neighbours, at, service)
        deadline = deadlines.neighbour_comment_deadline(local_date(at))
        self._neighbour_notice_sent(
            neighbours=[p.matrikkelnummer for p in parties],
            comment_deadline=deadline,
            at=at,
            parties=[p.as_record() for p in parties],
        )

    def record_neighbour_comment(
        self, neighbour: str, objection: bool, at: datetime, service: Service
    ) -> None:
        """A merknad from a neighbour; one after the comment period is kept, marked late. An
        objection ends a submitted case's grant by law (pbl § 21-7 tredje ledd)."""
        self._guard_neighbour("record neighbour comment", neighbour, at)
        late = self.neighbour_deadline is not None and local_date(at) > self.neighbour_deadline
        deemed = None
        if not objection and self.status is Status.SUBMITTED:
            deemed = self._deemed_on(self.decision_deadline, None, service)
        self._neighbour_comment_received(
            neighbour=neighbour, objection=objection, at=at, late=late, deemed_granted_on=deemed
        )

    def record_neighbour_consent(self, neighbour: str, at: datetime) -> None:
        """Samtykke: the neighbour has no objection, so the comment period need not run out."""
        self._guard_neighbour("record neighbour consent", neighbour, at)
        self._neighbour_consent_received(neighbour=neighbour, at=at)

    def request_consultation(self, party: str, at: datetime, service: Service) -> None:
        """Ask a body for its statement (alkoholloven § 1-7: the police and social services are
        heard before a licence is decided), with an answer-by date."""
        self._guard_consultation_request(party, at, service)
        answer_by = deadlines.next_working_day(
            local_date(at) + timedelta(days=service.consultation_days)
        )
        self._consultation_requested(party=party, answer_by=answer_by, at=at)

    def record_consultation_answer(self, party: str, objection: bool, at: datetime) -> None:
        """The body's statement: for or against; one after the answer-by date is marked late."""
        asked = self._guard_consultation_answer(party, at)
        late = local_date(at) > asked["answer_by"]
        waiting = [c["answer_by"] for c in self.consultations if not c["answered"]]
        waiting.remove(asked["answer_by"])
        self._consultation_answered(
            party=party,
            objection=objection,
            late=late,
            at=at,
            consultation_due=max(waiting, default=None),
        )

    def send_preliminary_reply(
        self, reason: str, expected_by: date, at: datetime, service: Service
    ) -> None:
        """Foreløpig svar (fvl § 11 a): why it takes time and when to expect a decision."""
        self._guard_preliminary_reply(expected_by, at, service)
        self._preliminary_reply_sent(reason=reason, expected_by=expected_by, at=at)

    def decide(self, decision: Decision, at: datetime, service: Service) -> None:
        """Vedtak. The appeal deadline (fvl § 29) runs from the decision date until its
        delivery is recorded."""
        self._guard("decide", at)
        self._guard_decision_comes("decide", service)
        self._guard_consulted(at, service)
        if service.neighbour_notice:
            self._guard_neighbour_period("decide", at)  # cases from before notice came first
        self._record_decision(decision, at, service)

    def deem_granted(self, at: datetime, service: Service) -> None:
        """pbl § 21-7 annet ledd: a building case on the three-week clock, needing no dispensation
        or other authority's consent and with no objection from neighbours or gjenboere, that is
        still undecided when the clock has run out, is granted by law (tillatelse regnes som gitt).
        It may be appealed like a decision, from the day it happened."""
        deadline = self._guard_deemed_grant(at, service)
        appeal = deadlines.appeal_deadline(local_date(at), service.appeal_days)
        self._permit_deemed_granted(decision_deadline=deadline, appeal_deadline=appeal, at=at)

    def _record_decision(self, decision: Decision, at: datetime, service: Service) -> None:
        appeal = deadlines.appeal_deadline(local_date(at), service.appeal_days)
        self._decision_made(
            outcome=decision.outcome.value,
            legal_basis=decision.legal_basis,
            case_officer=decision.case_officer,
            appeal_deadline=appeal,
            at=at,
        )
        if service.survey_days and decision.outcome is not Outcome.REFUSED:
            due = deadlines.survey_deadline(
                local_date(at), service.survey_days, service.survey_winter_pause
            )
            self._survey_clock_started(survey_due=due, at=at)

    def record_survey(self, held_on: date, at: datetime, service: Service) -> None:
        """The oppmålingsforretning was held and the result entered in the matrikkel: within 16
        weeks of the permit, the municipality's winter period not counted (matrikkelforskriften
        § 18); a later one is kept and marked late."""
        due = self._guard_survey(held_on, at, service)
        self._survey_completed(held_on=held_on, late=held_on > due, at=at)

    def archive(
        self,
        archive_reference: str,
        at: datetime,
        service: Service,
        override_reason: str | None = None,
    ) -> None:
        """Arkivering (bevares): after the appeal period, or after a withdrawal; only a case the
        retention policy keeps, unless an archivist overrides it with a reason (recorded)."""
        self._guard_closable("archive", at, service)
        self._guard_retention("archive", RetentionAction.ARCHIVE, service, override_reason)
        self._archived(archive_reference=archive_reference, at=at, override_reason=override_reason)

    def shred(self, at: datetime, service: Service, override_reason: str | None = None) -> None:
        """Kassasjon: destroyed after the appeal period, or after a withdrawal; never a case the
        retention policy keeps, unless an archivist overrides it with a reason (recorded)."""
        self._guard_closable("shred", at, service)
        self._guard_retention("shred", RetentionAction.SHRED, service, override_reason)
        self._shredded(at=at, override_reason=override_reason)

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
        signed_at: datetime | None = None,  # absent from events stored before it was recorded
        applicant_ref: str | None = None,  # a pseudonym of the applicant, for the read models
        late: bool | None = None,  # after the consultation's closing date (a høringssvar)
        decision_due: date | None = None,  # the clocks as they start (absent before v5)
        preliminary_reply_due: date | None = None,
        deemed_granted_on: date | None = None,
    ) -> None:
        self.late = late
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


def _after_closing_date(form: dict[str, Any], at: datetime) -> bool | None:
    """A response after the consultation's closing date is registered, and marked late
    (pbl § 11-14, § 12-10: the høringsfrist); None where the form names no closing date."""
    closing = form.get("horingsfrist")
    if closing is None:
        return None
    closing = closing if isinstance(closing, date) else date.fromisoformat(str(closing))
    return local_date(at) > closing


def _reference(form: dict[str, Any], pseudonym: Callable[[str], str] | None) -> str | None:
    """The applicant as a pseudonym the read models may hold (never the number itself)."""
    identifier = applicant_identifier(form)
    return pseudonym(identifier) if pseudonym and identifier else None
