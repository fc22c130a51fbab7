"""Decision and delivery: the foreløpig svar (fvl § 11 a), the vedtak, the grant by law
(pbl § 21-7), the day the vedtak reached the party (fvl § 29) and the survey that follows a
kartforretning permit. A unit of the ``Application`` aggregate: its rules here, its events
recorded by the aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from domain import deadlines
from domain.deadlines import PROMISE_AT_MOST
from domain.guards import Guards
from domain.lifecycle import Outcome, local_date
from domain.services import Service
from domain.values import Decision


class DecisionTrack(Guards):
    # recorded by the aggregate (domain.application)
    _decision_delivered: Callable[..., None]
    _decision_made: Callable[..., None]
    _permit_deemed_granted: Callable[..., None]
    _preliminary_reply_sent: Callable[..., None]
    _survey_clock_started: Callable[..., None]
    _survey_completed: Callable[..., None]
    # steps of the other units
    _guard_consulted: Callable[[datetime, Service], None]
    _guard_neighbour_period: Callable[[str, datetime], None]

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
        """pbl § 21-7 tredje ledd: a building case on the three-week clock, needing no dispensation
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

    def record_delivery(self, delivered_on: date, at: datetime, service: Service) -> None:
        """The vedtak reached the party: the appeal period counts from this day (fvl § 29;
        pasient- og brukerrettighetsloven § 7-5 for care services)."""
        self._guard_delivery(delivered_on, at)
        appeal = deadlines.appeal_deadline(delivered_on, service.appeal_days)
        self._decision_delivered(delivered_on=delivered_on, appeal_deadline=appeal, at=at)

    def record_survey(self, held_on: date, at: datetime, service: Service) -> None:
        """The oppmålingsforretning was held and the result entered in the matrikkel: within 16
        weeks of the permit, the municipality's winter period not counted (matrikkelforskriften
        § 18); a later one is kept and marked late."""
        due = self._guard_survey(held_on, at, service)
        self._survey_completed(held_on=held_on, late=held_on > due, at=at)

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
