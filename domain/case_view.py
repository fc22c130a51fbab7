"""What an application's state says: its status, clocks and neighbour answers (read-only).

A mixin of the ``Application`` aggregate, kept apart so the aggregate's file holds its rules and
events; the attributes it reads are set by the aggregate's events.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain import deadlines
from domain.forms import applicant_identifier
from domain.lifecycle import UNDECIDED, Status, local_date
from domain.retention import RetentionAction
from domain.services import Service

# the legal basis of a permit granted by law: a § 20-4 case (pbl § 21-7 tredje ledd); cases stored
# before this was put right carry annet ledd, the rule for cases with ansvarsrett
DEEMED_GRANTED = "pbl § 21-7 tredje ledd"
DEEMED_GRANTED_BEFORE = "pbl § 21-7 annet ledd"


class CaseView:
    status_value: str
    form: dict[str, Any]
    attachments: list[dict[str, Any]]
    neighbours: list[str]
    neighbour_responses: dict[str, str]
    decision: dict[str, Any] | None
    submitted_at: datetime | None
    decision_days: int | None
    objection_decision_days: int | None
    pauses: list[dict[str, date | None]]
    preliminary_reply_at: datetime | None
    closed_at: datetime | None
    clock_from: date | None
    superseded: tuple[dict[str, Any], ...]
    consultations: tuple[dict[str, Any], ...]
    appeal: dict[str, Any] | None
    decide_by: date | None

    @property
    def status(self) -> Status:
        return Status(self.status_value)

    @property
    def attachment_kinds(self) -> set[str]:
        return {a["kind"] for a in self.attachments}

    @property
    def has_objections(self) -> bool:
        return "objection" in self.neighbour_responses.values()

    @property
    def all_neighbours_consented(self) -> bool:
        return bool(self.neighbours) and all(
            self.neighbour_responses.get(n) == "consent" for n in self.neighbours
        )

    @property
    def decided_at(self) -> datetime | None:
        return self.decision["at"] if self.decision else None

    @property
    def appeal_deadline(self) -> date | None:
        """From the day the vedtak reached the party once that is recorded; until then as if
        it reached them the day it was made (fvl § 29)."""
        return self.decision["appeal_deadline"] if self.decision else None

    @property
    def delivered(self) -> bool:
        return bool(self.decision and self.decision.get("delivered_on"))

    def clock_pauses(self) -> list[deadlines.Pause]:
        return [deadlines.Pause(p["start"], p["end"]) for p in self.pauses]  # type: ignore[arg-type]

    @property
    def clock_start(self) -> date | None:
        """The decision clock starts at submission, or again the day an appeal body sent the
        case back for a new decision (fvl § 34)."""
        if self.submitted_at is None:
            return None
        return self.clock_from or local_date(self.submitted_at)

    @property
    def decision_deadline(self) -> date | None:
        """When the decision is due, counting pauses. A neighbour's objection does not lengthen a
        building case's clock (pbl § 21-7 tredje ledd: still three weeks, but not deemed granted
        on an overrun); a dispensation or another authority's consent does, from submission."""
        start = self.clock_start
        if start is None:
            return None
        return self._capped(
            deadlines.decision_deadline(start, self.decision_days, self.clock_pauses())
        )

    def _capped(self, due: date | None) -> date | None:
        """No later than the day the decision must come by (gravemelding: before the work)."""
        return min(due, self.decide_by) if due is not None and self.decide_by else due

    def _due_after_pause(self, resumed: date) -> date | None:
        """The decision deadline once the open pause ends on ``resumed``."""
        start, last = self.clock_start, self.pauses[-1]["start"]
        assert start is not None and last is not None
        pauses = [*self.clock_pauses()[:-1], deadlines.Pause(last, resumed)]
        return self._capped(deadlines.decision_deadline(start, self.decision_days, pauses))

    def _deemed_on(self, due: date | None, days: int | None, service: Service) -> date | None:
        """pbl § 21-7 tredje ledd: the day a § 20-4 case still undecided is granted by law — the
        day after its three weeks (``days``, or the case's own), with no objection from a
        neighbour or gjenboer; never a case an appeal body sent back for a new decision."""
        days = self.decision_days if days is None else days
        if not service.deemed_granted or due is None or days != service.decision_days:
            return None
        if self.has_objections or self.superseded:
            return None
        return due + timedelta(days=1)

    @property
    def preliminary_reply_due(self) -> date | None:
        """fvl § 11 a: due a month after receipt (or after the appeal body sent the case back)
        while undecided and no preliminary reply sent (none where no decision comes: no clock
        to explain)."""
        if self.submitted_at is None or self.decision or self.preliminary_reply_at:
            return None
        if self.decision_days is None:
            return None
        start = self.clock_start
        if self.status not in UNDECIDED or start is None:
            return None
        return deadlines.preliminary_reply_due(start)

    def deemed_granted_on(self, service: Service) -> date | None:
        """The day the law grants the permit if the case is still undecided then, or the day it
        did (pbl § 21-7 tredje ledd); None for every other case."""
        if self.status is Status.SUBMITTED:
            return self._deemed_on(self.decision_deadline, None, service)
        if self.decision and self.decision["legal_basis"] in (
            DEEMED_GRANTED,
            DEEMED_GRANTED_BEFORE,
        ):
            return local_date(self.decision["at"])
        return None

    @property
    def consultation_due(self) -> date | None:
        """The latest answer-by date of the bodies asked that have not answered yet."""
        return max((c["answer_by"] for c in self.consultations if not c["answered"]), default=None)

    @property
    def appeal_status(self) -> str | None:
        """Where the latest appeal stands: received, forwarded, reversed (by the deciding body),
        dismissed, or the appeal body's result."""
        if self.appeal is None:
            return None
        if self.appeal.get("result"):
            return str(self.appeal["result"])
        if self.appeal.get("reversed"):
            return "reversed"
        return "forwarded" if self.appeal.get("forwarded_to") else "received"

    def retention_due(self, service: Service) -> date | None:
        """First day archiving or shredding may happen: after the appeal period (or withdrawal;
        a case that ends in no decision once registered), and for a permit granted for a time
        that the policy keeps while in force, not before the permit has lapsed."""
        policy = service.retention
        if not service.individual_decision and self.status is Status.SUBMITTED:
            start = local_date(self.submitted_at) if self.submitted_at else None
        elif self.status is Status.WITHDRAWN and self.closed_at is not None:
            start = local_date(self.closed_at)
        elif self.status is Status.DECIDED and self.appeal_deadline is not None:
            start = self.appeal_deadline + timedelta(days=1)
        else:
            start = None
        if start is None:
            return None
        valid_until = (self.decision or {}).get("valid_until")
        if policy.while_in_force and valid_until:
            start = max(start, date.fromisoformat(str(valid_until)) + timedelta(days=1))
        return start + timedelta(days=policy.after_days)

    def retention_decision(self, service: Service) -> tuple[RetentionAction, str]:
        """Archive or shred, and why: the policy read against this case's form and applicant.
        A draft never sent is no record of the municipality (nothing was received, nothing can
        be journalført): it is shredded whatever the policy keeps."""
        if self.submitted_at is None:
            return RetentionAction.SHRED, "never submitted: a draft is no record to keep"
        return service.retention.decide(self.form, applicant_identifier(self.form))

    @property
    def decided_past_deadline(self) -> bool:
        due, decided = self.decision_deadline, self.decided_at
        return due is not None and decided is not None and local_date(decided) > due
