"""Consultations (alkoholloven § 1-7): bodies heard before the decision, each with an answer-by
date. A unit of the ``Application`` aggregate: its rules here, its events recorded by the
aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from domain import deadlines
from domain.guards import Guards
from domain.lifecycle import local_date
from domain.services import Service


class ConsultationTrack(Guards):
    # recorded by the aggregate (domain.application)
    _consultation_answered: Callable[..., None]
    _consultation_requested: Callable[..., None]

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
