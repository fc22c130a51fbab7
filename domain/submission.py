"""Submission and drafts: mellomlagring, «kontakt meg», sending in, withdrawal and an abandoned
draft's expiry. A unit of the ``Application`` aggregate: its rules here, its events recorded by
the aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from domain import deadlines, licence
from domain.forms import (
    applicant_identifier,
    check_contact,
    check_draft,
    complete_form,
    deep_merge,
    is_urgent,
    needs_longer_clock,
)
from domain.guards import Guards
from domain.lifecycle import local_date
from domain.services import Service


class SubmissionTrack(Guards):
    # recorded by the aggregate (domain.application)
    _contact_requested: Callable[..., None]
    _contact_taken_up: Callable[..., None]
    _draft_saved: Callable[..., None]
    _shredded: Callable[..., None]
    _submitted: Callable[..., None]
    _withdrawn: Callable[..., None]
    # steps of the other units
    _guard_neighbours_heard: Callable[[datetime, dict[str, Any]], None]

    def save_draft(self, form: dict[str, Any], at: datetime) -> None:
        """Mellomlagring: keep a partial form; what it holds must already be valid."""
        self._guard("save draft", at)
        check_draft(self.service, deep_merge(self.form, form))
        self._draft_saved(form=form, at=at)

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
        decide_by = None
        if service.decision_before:  # gravemelding: answered before the work starts
            decide_by = self._guard_planned_start(complete, service.decision_before, at)
        self._guard_track(complete, service, at)
        due = deadlines.decision_deadline(local_date(at), days)
        if service.permit_purposes and complete.get("formal") not in service.permit_purposes:
            # matrikkelforskriften § 18: no permit first; 16 weeks from the complete request
            days = service.survey_days
            assert days is not None  # a service with permit purposes has a survey clock
            due = deadlines.survey_deadline(local_date(at), days, service.survey_winter_pause)
        if due is not None and decide_by is not None:
            due = min(due, decide_by)
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
            decide_by=decide_by,
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
        if self.last_event_at > deadlines.draft_untouched_since(at, after_days):
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

    def _guard_track(self, form: dict[str, Any], service: Service, at: datetime) -> None:
        """Søknad om tiltak uten ansvarsrett (pbl § 20-4) covers small works only: a larger one
        needs ansvarsrett and is refused on this track, with the rule. A skjenkebevilling asks
        for a period and hours the law and the municipality allow (alkoholloven §§ 1-6, 4-4)."""
        if service.serving_hours:
            for code, problem in (
                ("licence-period-not-allowed", licence.period_problem(form, local_date(at))),
                ("serving-hours-not-allowed", licence.hours_problem(form, service.serving_hours)),
            ):
                if problem:
                    raise self._refuse("submit", code, problem)
        limits = service.area_limits_m2 or {}
        kind, area = form.get("tiltakstype"), form.get("bruksareal_m2")
        limit = limits.get(str(kind))
        if limit is not None and isinstance(area, int | float) and area > limit:
            raise self._refuse(
                "submit",
                "work-too-large-for-track",
                f"a {kind} of {area:g} m² is more than {limit:g} m²: it needs a søknad med "
                f"ansvarsrett (pbl § 20-3), not this track ({service.area_limits_law})",
            )

    def _guard_planned_start(self, form: dict[str, Any], field: str, at: datetime) -> date:
        """A notice of work (gravemelding) is answered before the work starts (veglova § 32 and
        the municipality's gravereglement): by the last working day before the start, whatever
        happens to the case. A notice with no working day left for that is too late."""
        start = date.fromisoformat(str(form[field]))
        if start <= local_date(at):
            raise self._refuse(
                "submit",
                "planned-start-passed",
                f"the work starts {start} ({field}): the notice must come before the work starts",
            )
        answer_by = deadlines.last_working_day_before(start)
        if answer_by < local_date(at):
            raise self._refuse(
                "submit",
                "notice-too-late",
                f"the work starts {start}: no working day is left to answer the notice before "
                "it; move the start or send the notice earlier",
            )
        return answer_by


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
