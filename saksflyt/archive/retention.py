"""``saksflyt retention run|watch``: archive or shred every closed case whose time has come.

Candidates come from the case overview read model (decided or withdrawn, past the appeal period
or withdrawn); each is loaded to apply its service's policy — with the municipality's override
and keep rules — exactly as ``Casework`` will. Running means one ``ApplyRetention`` command per
case whose id derives from the case id, so a second run, or a run in another process at the same
moment, answers ``duplicate`` instead of acting twice. ``--dry-run`` prints the same plan and
changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from uuid import UUID, uuid5

from consumers.delivery import InProcessDelivery
from domain import commands as cmd
from domain.casework import Casework
from domain.lifecycle import OSLO, Status
from domain.retention import RetentionAction
from projections import queries
from projections.store import ProjectionStore, ProjectionWriter
from saksflyt.archive.numbers import Numbers
from saksflyt.archive.records import saksaar

log = logging.getLogger(__name__)
RETENTION_COMMANDS = UUID("6f1d1c5e-2b0a-4b8e-9a57-2f1f3c0b7e11")  # namespace of command ids
PAGE = 500


@dataclass(frozen=True)
class Planned:
    """One case whose retention is due: what it gets and why (no personal values)."""

    case_id: UUID
    service: str
    kommunenummer: str
    due: date
    action: RetentionAction
    why: str
    saksaar: int

    def row(self) -> dict[str, object]:
        return {
            "case_id": str(self.case_id),
            "service": self.service,
            "kommunenummer": self.kommunenummer,
            "due": self.due,
            "action": self.action.value,
            "why": self.why,
        }


def command_id(case_id: UUID) -> UUID:
    """The one retention command a case ever gets: the same in every run and process."""
    return uuid5(RETENTION_COMMANDS, str(case_id))


def catch_up(app: Casework, store: ProjectionStore) -> None:
    """Embedded mode: bring the read models up to the event store before reading them."""
    writer = ProjectionWriter(store)
    InProcessDelivery(app, [writer], position=writer.position()).deliver()


def plan(app: Casework, store: ProjectionStore, as_of: date) -> Iterator[Planned]:
    """Every closed case whose retention is due on ``as_of``, in case-id order."""
    registered = [
        c for c in app.catalogue.codes() if not app.catalogue.service(c).individual_decision
    ]
    for case_id in _candidates(store, as_of, registered):
        case = app.get_case(case_id)
        service = app.service_of(case)
        closed = (Status.DECIDED, Status.WITHDRAWN)
        if case.status not in closed and not (
            case.status is Status.SUBMITTED and not service.individual_decision
        ):
            continue  # the read model lags: done since
        due = case.retention_due(service)
        if due is None or due > as_of:
            continue
        action, why = case.retention_decision(service)
        year = saksaar(case)
        yield Planned(case.id, case.service, case.kommunenummer, due, action, why, year)


def _candidates(store: ProjectionStore, as_of: date, registered: list[str]) -> Iterator[UUID]:
    """Closed cases past their appeal period (or withdrawn, or registered where no decision
    comes) by ``as_of``, a page at a time."""
    after = ""
    while page := queries.retention_candidates(store.db, as_of, after, PAGE, registered):
        yield from (UUID(case_id) for case_id in page)
        after = page[-1]


def run(app: Casework, planned: list[Planned], at: datetime, numbers: Numbers) -> Counter[str]:
    """Apply each planned step; returns how many were archived, shredded, done by another run
    (``duplicate``) or refused (e.g. the case changed since it was planned). A case archived
    gets its saksmappe number (``saksår/sekvensnummer``) as its archive reference."""
    done: Counter[str] = Counter()
    for step in planned:
        reference = ""
        if step.action is RetentionAction.ARCHIVE:
            reference = numbers.case_reference(step.case_id, step.kommunenummer, step.saksaar)
        handled = app.handle(
            cmd.ApplyRetention(
                command_id=command_id(step.case_id),
                case_id=step.case_id,
                received_at=at,
                actor="retention",
                archive_reference=reference,
            )
        )
        outcome = {
            cmd.Verdict.ACCEPTED: "archived"
            if step.action is RetentionAction.ARCHIVE
            else "shredded",
            cmd.Verdict.DUPLICATE: "duplicate",
            cmd.Verdict.REJECTED: "refused",
        }[handled.verdict]
        done[outcome] += 1
        log.info(
            "retention applied",
            extra={"case_id": str(step.case_id), "outcome": outcome, "code": handled.code},
        )
    compact = getattr(app.vault, "compact", None)
    if done["shredded"] and compact is not None:
        compact()  # no copy of a destroyed key left in the store's files
    return done


def moment(as_of: date | None) -> datetime:
    """When a run acts: now, or noon in Oslo on ``as_of`` (catching up on a given day)."""
    if as_of is None:
        return datetime.now(UTC)
    return datetime.combine(as_of, time(12), tzinfo=OSLO)


def watch(
    app: Casework,
    store: ProjectionStore,
    numbers: Numbers,
    stop: threading.Event,
    interval_s: float,
    embedded: bool,
) -> Counter[str]:
    """Run now and then every ``interval_s`` until ``stop`` is set."""
    total: Counter[str] = Counter()
    while not stop.is_set():
        if embedded:
            catch_up(app, store)
        at = moment(None)
        total += run(app, list(plan(app, store, at.astimezone(OSLO).date())), at, numbers)
        stop.wait(interval_s)
    return total
