"""The guards of the ``Application`` aggregate: each checks one rule and raises before any change.

A mixin, kept apart so the aggregate's own file holds its steps and events. Every refusal is an
``InvalidTransition`` with a stable code (for logs, metrics, clients) and a message for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain import process
from domain.case_view import CaseView
from domain.deadlines import PROMISE_AT_MOST
from domain.errors import InvalidIdentifier, InvalidTransition
from domain.lifecycle import Status, local_date
from domain.places import Matrikkelnummer
from domain.retention import RetentionAction
from domain.services import Service
from domain.values import NEIGHBOUR_ROLES, Attachment, Neighbour

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Guards(CaseView):
    id: UUID
    appeal: dict[str, Any] | None
    final: bool
    last_event_at: datetime
    requested_documents: list[str]
    neighbour_deadline: date | None
    consultations: tuple[dict[str, Any], ...]
    survey: dict[str, Any] | None
    contact: dict[str, Any] | None
    contact_taken_up: bool

    def _refuse(self, step: str, code: str, message: str) -> InvalidTransition:
        return InvalidTransition(self.id, self.status.value, step, code, message)

    def _guard(self, step: str, at: datetime, service: Service | None = None) -> None:
        """The common rules of every step; the statuses it is allowed in come from
        ``domain.process`` (for ``service``'s process when given)."""
        if self.status is Status.SHREDDED:
            raise self._refuse(
                step, "case-shredded", "the case is shredded (kassert); nothing may follow"
            )
        if at.tzinfo is None:
            raise self._refuse(step, "time-without-zone", "the time must carry a time zone")
        if at < self.last_event_at:  # only a sender's own time can be (see domain.timing)
            raise self._refuse(
                step,
                "time-before-previous-event",
                f"issued_at {at.isoformat()} is before the case's previous event "
                f"({self.last_event_at.isoformat()})",
            )
        allowed = process.allowed(step, service)
        if self.status not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise self._refuse(
                step, "not-allowed-in-status", f"only allowed while the case is {names}"
            )

    def _guard_attachment_kinds(self, step: str, kinds: Iterable[str], service: Service) -> None:
        unknown = sorted(set(kinds) - service.allowed_attachments)
        if unknown:
            allowed = ", ".join(sorted(service.allowed_attachments)) or "none"
            raise self._refuse(
                step,
                "attachment-kind-not-allowed",
                f"{service.code} takes no attachment of kind {unknown}; allowed: {allowed}",
            )

    def _guard_neighbour(self, step: str, neighbour: str, at: datetime) -> None:
        self._guard(step, at)
        if neighbour not in self.neighbours:
            raise self._refuse(
                step, "neighbour-not-notified", "that neighbour was not notified in this case"
            )
        if neighbour in self.neighbour_responses:
            raise self._refuse(
                step, "neighbour-already-answered", "that neighbour has already answered"
            )

    def _guard_neighbour_period(self, step: str, at: datetime) -> None:
        """pbl § 21-3: neighbours notified, and their two weeks over or every one consented."""
        if not self.neighbours:
            raise self._refuse(
                step,
                "neighbours-not-notified",
                "neighbours and gjenboere must be notified before the application is submitted "
                "(pbl § 21-3)",
            )
        assert self.neighbour_deadline is not None
        if local_date(at) <= self.neighbour_deadline and not self.all_neighbours_consented:
            raise self._refuse(
                step,
                "neighbour-period-running",
                f"the neighbours' comment period runs until {self.neighbour_deadline} and not "
                "every neighbour has consented (pbl § 21-3)",
            )

    def _guard_closable(self, step: str, at: datetime, service: Service) -> None:
        self._guard(step, at, service)  # a høringssvar is done once registered
        appeal = self.appeal_deadline
        if self.status is Status.DECIDED and appeal is not None and local_date(at) <= appeal:
            raise self._refuse(
                step, "appeal-period-running", f"the appeal period (fvl § 29) runs until {appeal}"
            )

    def _guard_retention(
        self, step: str, wanted: RetentionAction, service: Service, override: str | None
    ) -> None:
        """The retention policy decides archive or shred; an explicit override with a reason
        may go against it (the HTTP API lets only an archivist give one)."""
        action, why = service.retention.decide(self.id, self.form)
        if action is wanted or override:
            return
        code = (
            "retention-policy-shred"
            if wanted is RetentionAction.ARCHIVE
            else "retention-policy-keep"
        )
        raise self._refuse(
            step,
            code,
            f"{service.code}'s retention policy says {action.value} ({why}); an archivist may "
            "override it with a reason",
        )

    def _missing_requested(self) -> list[str]:
        return sorted(set(self.requested_documents) - self.attachment_kinds)

    def _guard_attachment(
        self, step: str, attachment: Attachment, at: datetime, service: Service
    ) -> None:
        self._guard(step, at)
        self._guard_attachment_kinds(step, [attachment.kind], service)
        if attachment.size <= 0:
            raise self._refuse(
                step, "attachment-empty", "an attachment must have a size above 0 bytes"
            )
        if not SHA256_HEX.match(attachment.sha256):
            raise self._refuse(
                step, "attachment-checksum-malformed", "sha256 must be 64 lowercase hex digits"
            )
        if any(a["attachment_id"] == attachment.attachment_id for a in self.attachments):
            raise self._refuse(step, "attachment-already-added", "the attachment is already added")

    def _guard_neighbour_notice(
        self,
        parties: list[Neighbour],
        neighbours: list[str] | None,
        at: datetime,
        service: Service,
    ) -> None:
        step = "send neighbour notice"
        if self.status is not Status.DRAFT and self.status is not Status.SHREDDED:
            raise self._refuse(
                step,
                "neighbour-notice-after-submission",
                "neighbours are notified before the application is submitted (pbl § 21-3)",
            )
        self._guard(step, at)
        if not service.neighbour_notice:
            raise self._refuse(
                step, "no-neighbour-notice-in-service", f"{service.code} has no neighbour notice"
            )
        if self.neighbours:
            raise self._refuse(
                step, "neighbours-already-notified", "the neighbours are already notified"
            )
        properties = [p.matrikkelnummer for p in parties]
        if not parties or len(set(properties)) != len(properties):
            raise self._refuse(
                step, "neighbours-not-unique", "name each neighbour's property once, at least one"
            )
        if neighbours is not None and sorted(neighbours) != sorted(properties):
            raise self._refuse(
                step,
                "neighbour-details-missing",
                "each neighbour needs matrikkelnummer, name, address and role (nabo or gjenboer)",
            )
        for party in parties:
            self._guard_party(step, party)

    def _guard_party(self, step: str, party: Neighbour) -> None:
        try:
            Matrikkelnummer.parse(party.matrikkelnummer)
        except InvalidIdentifier as error:
            raise self._refuse(step, "neighbour-matrikkelnummer-invalid", str(error)) from None
        if (
            not party.navn.strip()
            or not party.adresse.strip()
            or party.rolle not in NEIGHBOUR_ROLES
        ):
            raise self._refuse(
                step,
                "neighbour-details-missing",
                "each neighbour needs matrikkelnummer, name, address and role (nabo or gjenboer)",
            )

    def _guard_neighbours_heard(self, at: datetime, form: dict[str, Any]) -> None:
        """pbl § 21-3: submitted after the comment period, or earlier once every party
        consented; objections go in with the applicant's comments on them."""
        self._guard_neighbour_period("submit", at)
        if self.has_objections and not str(form.get("kommentar_til_merknader") or "").strip():
            raise self._refuse(
                "submit",
                "objection-comments-missing",
                "a neighbour objected: the application must carry your comments on the "
                "objections (kommentar_til_merknader)",
            )

    def _guard_document_request(self, kinds: list[str], at: datetime, service: Service) -> None:
        step = "request missing documents"
        self._guard(step, at)
        if not kinds:
            raise self._refuse(step, "no-document-kinds", "name at least one document kind")
        self._guard_attachment_kinds(step, kinds, service)

    def _guard_delivery(self, delivered_on: date, at: datetime) -> None:
        step = "record decision delivery"
        self._guard(step, at)
        if self.delivered:
            raise self._refuse(
                step, "decision-already-delivered", "the decision's delivery is already recorded"
            )
        assert self.decision is not None
        if not local_date(self.decision["at"]) <= delivered_on <= local_date(at):
            raise self._refuse(
                step,
                "delivery-date-out-of-range",
                "a decision reaches the party on or after the day it was made, and not later "
                "than today",
            )

    def _guard_deemed_grant(self, at: datetime, service: Service) -> date:
        """pbl § 21-7: only the three-week clock, without objections, grants by law; returns the
        deadline that ran out."""
        step = "deem permit granted"
        self._guard(step, at)
        if not service.deemed_granted:
            raise self._refuse(
                step, "no-deemed-grant-in-service", f"{service.code} is never granted by law"
            )
        if self.decision_days != service.decision_days:
            raise self._refuse(
                step,
                "twelve-week-case",
                "a case needing a dispensation or another authority's consent is not granted by "
                "law on an overrun (pbl § 21-7 første ledd)",
            )
        if self.superseded:
            raise self._refuse(
                step,
                "sent-back-by-appeal-body",
                "the appeal body repealed the decision: the new one is made, not granted by law",
            )
        if self.has_objections:
            raise self._refuse(
                step,
                "neighbours-objected",
                "a neighbour or gjenboer objected: the three weeks still apply, but the permit is "
                "not granted by law on an overrun (pbl § 21-7 tredje ledd)",
            )
        deadline = self.decision_deadline
        assert deadline is not None  # submitted, not paused
        if local_date(at) <= deadline:
            raise self._refuse(
                step, "decision-clock-running", f"the decision is due by {deadline}: not yet over"
            )
        return deadline

    def _guard_planned_start(self, form: dict[str, Any], field: str, at: datetime) -> date:
        """A notice of work (gravemelding) is sent before the work starts (veglova § 32 and the
        municipality's gravereglement): the decision is measured against that day."""
        start = date.fromisoformat(str(form[field]))
        if start <= local_date(at):
            raise self._refuse(
                "submit",
                "planned-start-passed",
                f"the work starts {start} ({field}): the notice must come before the work starts",
            )
        return start

    def _consultation(self, party: str) -> dict[str, Any] | None:
        return next((c for c in self.consultations if c["party"] == party), None)

    def _guard_consultation_request(self, party: str, at: datetime, service: Service) -> None:
        step = "request consultation"
        self._guard(step, at, service)
        bodies = (*service.consultations, *service.optional_consultations)
        if party not in bodies:
            raise self._refuse(
                step,
                "consultation-party-unknown",
                f"{service.code} hears {', '.join(bodies) or 'no one'}, not {party}",
            )
        if self._consultation(party) is not None:
            raise self._refuse(
                step, "consultation-already-requested", f"{party} has already been asked"
            )

    def _guard_consultation_answer(self, party: str, at: datetime) -> dict[str, Any]:
        step = "record consultation answer"
        self._guard(step, at)
        asked = self._consultation(party)
        if asked is None:
            raise self._refuse(step, "consultation-not-requested", f"{party} was not asked")
        if asked["answered"]:
            raise self._refuse(step, "consultation-already-answered", f"{party} has answered")
        return asked

    def _guard_consulted(self, at: datetime, service: Service) -> None:
        """alkoholloven § 1-7: the required bodies were asked, and each has answered or let its
        answer-by date pass, before the decision."""
        missing = [p for p in service.consultations if self._consultation(p) is None]
        if missing:
            raise self._refuse(
                "decide",
                "consultations-missing",
                f"{', '.join(missing)} must be heard before the decision (alkoholloven § 1-7)",
            )
        waiting = [
            c["party"]
            for c in self.consultations
            if not c["answered"] and local_date(at) <= c["answer_by"]
        ]
        if waiting:
            raise self._refuse(
                "decide",
                "consultation-running",
                f"waiting for the statement of {', '.join(waiting)} (answer-by date not passed)",
            )

    def _guard_contact_request(self, at: datetime, service: Service) -> None:
        step = "request contact"
        self._guard(step, at)
        if not service.contact_requests:
            raise self._refuse(
                step, "no-contact-requests-in-service", f"{service.code} takes no «kontakt meg»"
            )
        if self.contact is not None or self.form:
            raise self._refuse(step, "contact-on-a-new-case-only", "only a new case asks this")

    def _guard_contact_taken_up(self, at: datetime, service: Service) -> dict[str, Any]:
        step = "take up contact"
        self._guard(step, at, service)
        if self.contact is None:
            raise self._refuse(step, "no-contact-request", "the case is no «kontakt meg» request")
        if self.contact_taken_up:
            raise self._refuse(step, "contact-already-taken-up", "it is already taken up")
        return self.contact

    def _guard_survey(self, held_on: date, at: datetime, service: Service) -> date:
        step = "record survey"
        self._guard(step, at, service)
        if self.survey is None:
            raise self._refuse(step, "no-survey-due", "no permit of this case calls for a survey")
        if self.survey["held_on"] is not None:
            raise self._refuse(step, "survey-already-recorded", "the survey is already recorded")
        assert self.decision is not None
        if not local_date(self.decision["at"]) <= held_on <= local_date(at):
            raise self._refuse(
                step,
                "survey-date-out-of-range",
                "a survey is held after the permit, and not later than today",
            )
        return date.fromisoformat(str(self.survey["due"]))

    def _guard_decision_comes(self, step: str, service: Service) -> None:
        if not service.individual_decision:
            raise self._refuse(
                step,
                "no-decision-in-service",
                f"a {service.name_nb.lower()} is registered and acknowledged, not decided: it is "
                "no individual decision (fvl § 2), so no vedtak, clock or appeal",
            )

    def _guard_preliminary_reply(self, expected_by: date, at: datetime, service: Service) -> None:
        step = "send preliminary reply"
        self._guard(step, at)
        self._guard_decision_comes(step, service)
        if self.preliminary_reply_at is not None:
            raise self._refuse(
                step, "preliminary-reply-already-sent", "a preliminary reply was already sent"
            )
        if not local_date(at) < expected_by <= local_date(at) + PROMISE_AT_MOST:
            raise self._refuse(
                step, "expected-by-out-of-range", "expected_by must be a later date, within a year"
            )
