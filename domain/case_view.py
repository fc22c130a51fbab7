"""What an application's state says: its status, clocks and neighbour answers (read-only).

A mixin of the ``Application`` aggregate, kept apart so the aggregate's file holds its rules and
events; the attributes it reads are set by the aggregate's events.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain import deadlines
from domain.lifecycle import UNDECIDED, Status, local_date


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
    def decision_deadline(self) -> date | None:
        """When the decision is due, counting pauses. A neighbour's objection does not lengthen a
        building case's clock (pbl § 21-7 tredje ledd: still three weeks, but not deemed granted
        on an overrun); a dispensation or another authority's consent does, from submission."""
        if self.submitted_at is None:
            return None
        return deadlines.decision_deadline(
            local_date(self.submitted_at), self.decision_days, self.clock_pauses()
        )

    @property
    def preliminary_reply_due(self) -> date | None:
        """fvl § 11 a: due a month after receipt while undecided and no preliminary reply sent
        (none where no decision comes: no clock to explain)."""
        if self.submitted_at is None or self.decision or self.preliminary_reply_at:
            return None
        if self.decision_days is None:
            return None
        if self.status not in UNDECIDED:
            return None
        return deadlines.preliminary_reply_due(local_date(self.submitted_at))

    def retention_due(self, after_days: int, registered_closes: bool = False) -> date | None:
        """First day archiving or shredding may happen: after the appeal period (or withdrawal);
        ``registered_closes``: a case that ends in no decision is done once registered."""
        if registered_closes and self.status is Status.SUBMITTED and self.submitted_at:
            start = local_date(self.submitted_at)
        elif self.status is Status.WITHDRAWN and self.closed_at is not None:
            start = local_date(self.closed_at)
        elif self.status is Status.DECIDED and self.appeal_deadline is not None:
            start = self.appeal_deadline + timedelta(days=1)
        else:
            return None
        return start + timedelta(days=after_days)

    @property
    def decided_past_deadline(self) -> bool:
        due, decided = self.decision_deadline, self.decided_at
        return due is not None and decided is not None and local_date(decided) > due
