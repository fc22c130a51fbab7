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
from domain.errors import InvalidTransition
from domain.lifecycle import Status
from domain.services import Service

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Guards(CaseView):
    """The rules every unit of the aggregate shares; the state they read is set by its events."""

    id: UUID
    service: str
    messages: tuple[dict[str, Any], ...]
    receipts: list[dict[str, Any]]
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

    def _guard_decision_comes(self, step: str, service: Service) -> None:
        if not service.individual_decision:
            raise self._refuse(
                step,
                "no-decision-in-service",
                f"a {service.name_nb.lower()} is registered and acknowledged, not decided: it is "
                "no individual decision (fvl § 2), so no vedtak, clock or appeal",
            )
