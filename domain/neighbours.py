"""The neighbour notice (nabovarsel, pbl § 21-3): neighbours and gjenboere are notified before
the application goes in, and have two weeks to comment or consent. A unit of the ``Application``
aggregate: its rules here, its events recorded by the aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import deadlines
from domain.errors import InvalidIdentifier
from domain.guards import Guards
from domain.lifecycle import Status, local_date
from domain.places import Matrikkelnummer
from domain.services import Service
from domain.values import NEIGHBOUR_ROLES, Neighbour

# what a nabovarsel must tell the neighbours, read from the draft (compare blankett 5154)
NOTICE_NAMES = ("tiltakshaver.navn", "matrikkelnummer", "tiltakstype")


def _named(form: dict[str, Any], path: str) -> bool:
    value: Any = form
    for step in path.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return bool(value)


class NeighbourTrack(Guards):
    # recorded by the aggregate (domain.application)
    _neighbour_comment_received: Callable[..., None]
    _neighbour_consent_received: Callable[..., None]
    _neighbour_notice_sent: Callable[..., None]

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
        missing = [name for name in NOTICE_NAMES if not _named(self.form, name)]
        if missing:
            raise self._refuse(
                step,
                "notice-needs-the-project",
                "a nabovarsel says what is planned, on which property and by whom (pbl § 21-3): "
                f"save {', '.join(missing)} in the draft first",
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
