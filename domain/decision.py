"""Decision and delivery: the foreløpig svar (fvl § 11 a), the vedtak, the grant by law
(pbl § 21-7), the day the vedtak reached the party (fvl § 29) and the survey that follows a
kartforretning permit. A unit of the ``Application`` aggregate: its rules here, its events
recorded by the aggregate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from domain import deadlines, licence
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
        self._guard_reasons(decision)
        valid_until = self._validity(decision, at, service)
        self._record_decision(replace(decision, valid_until=valid_until), at, service)

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
            facts=decision.facts,
            considerations=decision.considerations,
            valid_until=decision.valid_until,
        )
        if self._survey_follows(service) and decision.outcome is not Outcome.REFUSED:
            assert service.survey_days is not None
            due = deadlines.survey_deadline(
                local_date(at), service.survey_days, service.survey_winter_pause
            )
            self._survey_clock_started(survey_due=due, at=at)

    def _survey_follows(self, service: Service) -> bool:
        """A kartforretning permit (fradeling) starts the survey's 16 weeks; a grensejustering
        or a survey of existing boundaries had its clock from the request (matrikkelforskriften
        § 18), and its decision is the matrikkelføring."""
        if not service.survey_days:
            return False
        return not service.permit_purposes or self.form.get("formal") in service.permit_purposes

    def _guard_reasons(self, decision: Decision) -> None:
        """fvl § 24-25: a refusal or a partial grant gives its reasons when it is made — the
        facts it builds on and the main considerations, beside the rules (legal_basis)."""
        if decision.outcome is not Outcome.GRANTED and not decision.reasoned:
            raise self._refuse(
                "decide",
                "reasons-required",
                "a refusal or a partial grant states its reasons: the facts and the main "
                "considerations (forvaltningsloven §§ 24-25)",
            )

    def _validity(self, decision: Decision, at: datetime, service: Service) -> date | None:
        """Until when a permit granted for a time runs: the vedtak's date if it gives one, else
        the service's period; never longer, and for a driver's parking permit never beyond the
        driving licence (a form date)."""
        given, today = decision.valid_until, local_date(at)
        longest = self._longest_permit(service, today)
        if longest is None or decision.outcome is Outcome.REFUSED:
            if given is not None:
                raise self._refuse(
                    "decide", "no-permit-period", "this decision grants nothing for a time"
                )
            return None
        if longest <= today:
            raise self._refuse(
                "decide",
                "validity-out-of-range",
                f"the permit would have run out by {longest}: the period asked for, or the "
                "driving licence, has ended",
            )
        if given is not None and not today < given <= longest:
            raise self._refuse(
                "decide",
                "validity-out-of-range",
                f"the permit may run until {longest} at the latest "
                f"({service.permit_validity_law or service.code})",
            )
        return given or longest

    def _longest_permit(self, service: Service, today: date) -> date | None:
        """The last day a permit granted today may run: a skjenkebevilling by alkoholloven
        § 1-6 (or the shorter period asked for), other permits the municipality's years."""
        form = self.form
        if service.permit_validity_law == licence.PERIOD_LAW:
            start = date.fromisoformat(str(form.get("gyldig_fra") or today))
            asked = form.get("gyldig_til")
            return date.fromisoformat(str(asked)) if asked else licence.period_ends_by(start)
        if service.permit_valid_years is None:
            return None
        longest = deadlines.add_months(today, 12 * service.permit_valid_years) - timedelta(days=1)
        driving = form.get("forerkort_gyldig_til")
        if driving and form.get("gjelder") == "forer":
            longest = min(longest, date.fromisoformat(str(driving)))
        return longest

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
