"""The klage (appeal) track of a case, as its own unit: the rules of each step, and what each step
records. A mixin of the ``Application`` aggregate, which holds the state and the ``@event`` methods.

The track, as forvaltningsloven has it:
- a klage arrives (fvl § 32), in time if it was *sent* before the klagefrist ran out (fvl § 30);
- the body that decided reviews it (fvl § 33): it may reverse its decision (omgjøring: a new vedtak,
  which may itself be appealed), send the appeal on to the appeal body the catalogue names for the
  service, or dismiss it (avvisning);
- the appeal body upholds (stadfester: final), changes (endrer: its outcome is the case's from then
  on, final) or repeals (opphever: the case goes back for a new decision, with a new decision
  clock; that decision may be appealed) — or dismisses the appeal (fvl § 34);
- an appeal is dismissed when it is late and not taken up all the same, when the appellant is no
  party and has no legal interest in appealing (fvl § 28), when it was sent more than a year after
  the decision (fvl § 31 third para.: never taken up), or for a defect not put right (fvl § 32).
  A dismissal by the deciding body is itself an individual decision that may be appealed (fvl § 2
  third para.), so a new klagefrist runs from it; one by the appeal body is final.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain import deadlines
from domain.guards import Guards
from domain.lifecycle import AppealResult, local_date
from domain.services import Service
from domain.values import Decision


class DismissalGround(enum.StrEnum):
    """Why an appeal is dismissed (avvist) without being tried on its merits."""

    LATE = "late"  # fvl § 31: after the klagefrist, and not taken up for special reasons
    NO_STANDING = "no-standing"  # fvl § 28: not a party, no legal interest in appealing
    OVER_A_YEAR = "over-a-year"  # fvl § 31 third para.: sent more than a year after the decision
    DEFECT = "defect"  # fvl § 32: what it is against, or a signature, missing and not put right


class AppealStage(enum.StrEnum):
    """Who acts on the appeal."""

    DECIDING_BODY = "deciding-body"  # underinstansen (fvl § 33)
    APPEAL_BODY = "appeal-body"  # klageinstansen (fvl § 34)


DISMISSAL_LAW = {
    DismissalGround.LATE: "forvaltningsloven § 31",
    DismissalGround.NO_STANDING: "forvaltningsloven § 28",
    DismissalGround.OVER_A_YEAR: "forvaltningsloven § 31 tredje ledd",
    DismissalGround.DEFECT: "forvaltningsloven § 32",
}
YEAR_MONTHS = 12  # fvl § 31 third para.: one year from the decision


class AppealTrack(Guards):
    """The appeal's steps: guard, then record through the aggregate's events."""

    decision: dict[str, Any] | None
    _appeal_received: Callable[..., None]
    _appeal_forwarded: Callable[..., None]
    _appeal_reviewed: Callable[..., None]
    _appeal_dismissed: Callable[..., None]
    _appeal_decided: Callable[..., None]
    _record_decision: Callable[[Decision, datetime, Service], None]

    def receive_appeal(
        self,
        received_on: date,
        at: datetime,
        service: Service,
        sent_on: date | None = None,
        party: bool = True,
    ) -> None:
        """A klage arrived (fvl § 32). ``sent_on``: the day it was posted or sent, when known —
        in time if that is within the klagefrist (fvl § 30). A late one is taken in and marked
        late: the deciding body may still consider it (fvl § 31), or dismiss it."""
        sent = self._guard_appeal(received_on, sent_on, at, service)
        assert self.appeal_deadline is not None and self.decision is not None
        review_due = deadlines.next_working_day(
            received_on + timedelta(days=service.appeal_review_days)
        )
        limit = deadlines.add_months(local_date(self.decision["at"]), YEAR_MONTHS)
        self._appeal_received(
            received_on=received_on,
            timely=sent <= self.appeal_deadline,
            review_due=review_due,
            at=at,
            sent_on=sent_on,
            within_a_year=sent <= limit,
            party=party,
        )

    def review_appeal(
        self, decision: Decision | None, appeal_body: str | None, at: datetime, service: Service
    ) -> None:
        """fvl § 33: the deciding body reverses the decision (omgjøring: a new vedtak, which may
        be appealed in turn) or sends the appeal on to the service's appeal body."""
        self._guard_appeal_step("review appeal", at, forwarded=False)
        self._guard_admissible("review appeal")
        if decision is None:
            body = self._guard_appeal_body(appeal_body, service)
            self._appeal_forwarded(appeal_body=body, at=at)
            return
        self._appeal_reviewed(reversed=True, at=at)
        self._record_decision(decision, at, service)  # omgjøring: a new vedtak

    def dismiss_appeal(
        self, ground: DismissalGround, by: AppealStage, at: datetime, service: Service
    ) -> None:
        """Avvisning: the appeal is not tried on its merits. By the deciding body a decision of
        its own that may be appealed (a new klagefrist runs); by the appeal body final."""
        step = "dismiss appeal"
        self._guard_appeal_step(step, at, forwarded=by is AppealStage.APPEAL_BODY)
        assert self.appeal is not None
        if ground is DismissalGround.LATE and self.appeal["timely"]:
            raise self._refuse(
                step, "appeal-in-time", "the appeal was sent within the klagefrist (fvl § 30)"
            )
        if ground is DismissalGround.OVER_A_YEAR and self.appeal.get("within_a_year", True):
            raise self._refuse(
                step, "appeal-within-a-year", "the appeal was sent within a year of the decision"
            )
        final = by is AppealStage.APPEAL_BODY
        again = None if final else deadlines.appeal_deadline(local_date(at), service.appeal_days)
        self._appeal_dismissed(ground=ground.value, by=by.value, appeal_deadline=again, at=at)

    def record_appeal_result(
        self,
        result: AppealResult,
        at: datetime,
        service: Service,
        decision: Decision | None = None,
    ) -> None:
        """fvl § 34: the appeal body's answer. Upheld or changed: final, no further appeal (fvl
        § 28 third para.); a change carries the appeal body's ``decision``, which becomes the
        case's outcome. Repealed: the case goes back to the deciding body, whose decision clock
        starts again that day; the earlier decision is superseded."""
        step = "record appeal result"
        self._guard_appeal_step(step, at, forwarded=True)
        if (decision is None) is (result is AppealResult.REVERSED):
            need = "needs" if decision is None else "takes no"
            raise self._refuse(
                step,
                "appeal-result-decision",
                f"a {result.value} appeal {need} the appeal body's own decision (outcome and "
                "legal basis)",
            )
        due = reply_due = None
        if result is AppealResult.REPEALED:
            due = deadlines.decision_deadline(local_date(at), self.decision_days)
            if self.preliminary_reply_at is None and self.decision_days is not None:
                reply_due = deadlines.preliminary_reply_due(local_date(at))
        self._appeal_decided(
            result=result.value,
            at=at,
            outcome=decision.outcome.value if decision else None,
            legal_basis=decision.legal_basis if decision else None,
            decision_due=due,
            preliminary_reply_due=reply_due,
        )

    # ----- guards -------------------------------------------------------------------------------

    def _guard_appeal(
        self, received_on: date, sent_on: date | None, at: datetime, service: Service
    ) -> date:
        """The appeal's date for the klagefrist: when it was sent, else when it came."""
        step = "receive appeal"
        self._guard(step, at)
        self._guard_decision_comes(step, service)
        if self.final:
            raise self._refuse(
                step, "appeal-decided", "the appeal body has decided: no further appeal (fvl § 28)"
            )
        assert self.decision is not None
        decided = local_date(self.decision["at"])
        if not decided <= received_on <= local_date(at):
            raise self._refuse(
                step,
                "appeal-date-out-of-range",
                "an appeal arrives after the decision it is against, and not later than today",
            )
        if sent_on is not None and not decided <= sent_on <= received_on:
            raise self._refuse(
                step,
                "appeal-sent-date-out-of-range",
                "an appeal is sent after the decision it is against, and before it arrives",
            )
        return sent_on or received_on

    def _guard_appeal_step(self, step: str, at: datetime, forwarded: bool) -> None:
        self._guard(step, at)
        assert self.appeal is not None
        if bool(self.appeal.get("forwarded_to")) is not forwarded:
            where = "is with the appeal body" if not forwarded else "has not been sent on yet"
            raise self._refuse(step, "appeal-not-here", f"the appeal {where}")

    def _guard_admissible(self, step: str) -> None:
        """fvl §§ 28, 31: an appeal from no party, or sent more than a year after the decision,
        is never tried on its merits: it is dismissed."""
        assert self.appeal is not None
        if not self.appeal.get("party", True):
            raise self._refuse(
                step,
                "appeal-must-be-dismissed",
                "the appellant is not a party to the case: the appeal is dismissed (fvl § 28)",
            )
        if not self.appeal.get("within_a_year", True):
            raise self._refuse(
                step,
                "appeal-must-be-dismissed",
                "the appeal was sent more than a year after the decision: it is dismissed "
                "(fvl § 31 third para.)",
            )

    def _guard_appeal_body(self, appeal_body: str | None, service: Service) -> str:
        """The appeal goes to the body the law names for the service, and to no other."""
        assert service.appeal_body is not None  # a service with decisions names one
        if appeal_body is not None and appeal_body.strip().casefold() != (
            service.appeal_body.casefold()
        ):
            raise self._refuse(
                "review appeal",
                "appeal-body-not-competent",
                f"an appeal in {service.code} goes to {service.appeal_body} "
                f"({service.appeal_body_law}), not to {appeal_body}",
            )
        return service.appeal_body
