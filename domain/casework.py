"""The ``Casework`` application: the one way a command reaches a case (``handle``).

``handle`` dedupes by command id, applies the command's step to its case, and saves the new events
with the command id in one transaction (``domain.case_store`` holds how cases are stored and read
back). Nothing about the command being handled lives on this object, which many threads share: it
travels as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    ProcessRecorder,
    Recording,
    Tracking,
)
from eventsourcing.utils import get_topic

from domain import commands as cmd
from domain.application import Application
from domain.case_store import CASE_LOCKS, GroupRecorder
from domain.commands import Command, Handled, Verdict
from domain.errors import (
    CaseAlreadyExists,
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
)
from domain.group_commit import (
    REFUSED,
    Announce,
    GroupCommit,
    LoadedCases,
    command_tracking,
    tracking_name,
)
from domain.payload import check_payload
from domain.personal import ErasureRequest
from domain.places import Kommunenummer
from domain.services import Service
from domain.steps import STEPS
from domain.timing import check_signed_at, record_time

CONCURRENCY_ATTEMPTS = 5
SHREDDED = "saksflyt.application.shredded"
UNREADABLE = "invalid-command"  # the code of a command that could not be read as one


class Casework(GroupCommit):
    """Use cases of case processing. Raises domain errors; never touches Kafka, HTTP or metrics."""

    name = "saksflyt"  # names the stored tables (saksflyt_events …): never change it
    # the recorder, if it reads many cases at once (a GroupRecorder); None: not asked yet
    _grouped: tuple[GroupRecorder] | tuple[()] | None = None

    # ----- the one way in for a command ---------------------------------------------------------

    def handle(self, command: Command, announce: Announce | None = None) -> Handled:
        """Apply one command: accepted, rejected by the rules, or a duplicate of an earlier one.

        The command id is recorded in the same transaction as the case's new events, and a
        rejected command's id is recorded too, on every path (HTTP, Kafka, demo): resending the
        same id never applies it twice, nor refuses it twice — it answers ``duplicate``. A case
        changed by someone else between load and save is loaded again and the command re-decided
        against the new state (a few times at most). ``announce`` hears of a refusal before it
        is recorded, so an announcement of it (e.g. on Kafka) happens at least once.
        """
        with self._case_locks[command.case_id.int % CASE_LOCKS]:  # one writer per case here
            handled = self._handle(command, announce)
        self._observe([handled])
        return handled

    def _observe(self, handled: list[Handled]) -> list[Handled]:
        for outcome in handled:
            for observer in self.observers:
                observer.command_handled(
                    type(outcome.command).__name__, outcome.verdict, outcome.code
                )
        return handled

    def _handle(self, command: Command, announce: Announce | None) -> Handled:
        """One read (the case's events) and one transaction (its new events with the command id)
        when all is well. Whether the command id is done already is asked only when it matters:
        the commit refused it, or the rules refused the command (a duplicate is not announced)."""
        for attempt in range(1, CONCURRENCY_ATTEMPTS + 1):
            try:
                case = self._decide(command, self._load_alone(command.case_id))
                erasing = self._erasure_of(case, command)
                self.save(case, tracking=command_tracking(command.command_id))
            except ConcurrentUpdate:
                if self.has_processed(command.command_id):
                    return Handled(command, Verdict.DUPLICATE)  # a twin won the race
                if attempt == CONCURRENCY_ATTEMPTS:
                    raise
                continue
            except DomainError as refusal:
                if self.has_processed(command.command_id):
                    return Handled(command, Verdict.DUPLICATE)  # a twin did it meanwhile
                rejected = Handled(command, Verdict.REJECTED, refusal=refusal)
                if announce is not None:
                    announce(rejected)
                self._record_refusal(command.command_id)
                return rejected
            if erasing is not None:
                self.vault.erase(case.id)  # type: ignore[union-attr]
            return Handled(command, Verdict.ACCEPTED, case.version, case.status.value)
        raise AssertionError("unreachable")

    def _load_alone(self, case_id: UUID) -> LoadedCases | None:
        """The case's events in one read, where the recorder can."""
        if self._grouped is None:  # a Protocol's isinstance costs ~25 µs: asked once
            recorder = self.recorder
            self._grouped = (recorder,) if isinstance(recorder, GroupRecorder) else ()
        return LoadedCases.read(self, self._grouped[0], [case_id]) if self._grouped else None

    def _erasure_of(self, case: Application, command: Command) -> ErasureRequest | None:
        """Kassasjon: the request is recorded before the Shredded event, so none is forgotten."""
        if self.vault is None or not any(
            get_topic(type(e)) == SHREDDED for e in case.pending_events
        ):
            return None
        request = ErasureRequest(
            case.id,
            case.service,
            case.kommunenummer,
            getattr(command, "reason", None) or "kassasjon",
            command.actor or "saksflyt",
        )
        self.vault.erasure_requested(request)
        return request

    def _decide(self, command: Command, loaded: LoadedCases | None = None) -> Application:
        """Load (or create) the case and apply the command to it; nothing is saved yet.
        ``loaded``: a batch's cases, read already."""
        check_payload(command)
        if isinstance(command, cmd.StartApplication):
            return self._start(command, loaded)
        case = loaded.case(command.case_id) if loaded else self.get_case(command.case_id)
        at = record_time(command.received_at, command.issued_at, case.last_event_at)
        if isinstance(command, cmd.SubmitApplication):
            self._submit(case, command, at, self.service_of(case))
        else:
            STEPS[type(command)](case, command, at, self.service_of(case))
        return case

    def _submit(
        self,
        case: Application,
        c: cmd.SubmitApplication | cmd.SubmitNewApplication,
        at: datetime,
        service: Service,
    ) -> None:
        check_signed_at(c.signed_at, c.received_at)
        pseudonym = self.vault.pseudonym if self.vault else None
        case.submit(c.form, at, service, c.signed_at, pseudonym)

    def _start(self, c: cmd.StartApplication, loaded: LoadedCases | None = None) -> Application:
        """Open a draft (optionally with a first mellomlagring), or file it at once."""
        service = self.catalogue.service(c.service, c.kommunenummer)
        Kommunenummer.parse(c.kommunenummer)
        at = record_time(c.received_at, c.issued_at, None)
        if loaded.exists(c.case_id) if loaded else self.exists(c.case_id):
            raise CaseAlreadyExists(c.case_id)
        if not service.drafts and not isinstance(c, cmd.SubmitNewApplication):
            raise InvalidTransition(
                c.case_id,
                "new",
                "start a draft",
                "drafts-not-allowed",
                f"{service.code} is submitted in one step; no draft is stored",
            )
        case = Application(service=c.service, kommunenummer=c.kommunenummer, at=at, id=c.case_id)
        if isinstance(c, cmd.SubmitNewApplication):
            self._submit(case, c, at, service)
        elif isinstance(c, cmd.RequestContact):
            case.request_contact(c.contact, at, service)
        elif c.form:
            case.save_draft(c.form, at)
        return case

    def service_of(self, case: Application) -> Service:
        """The service as it applies to this case: the municipality's settings, and a variant
        where the form names one (``Service.for_form``)."""
        return self.catalogue.service(case.service, case.kommunenummer).for_form(case.form)

    def has_processed(self, command_id: UUID) -> bool:
        """True once a command with this id changed a case or was refused."""
        return self._process_recorder.has_tracking_id(tracking_name(command_id), 1)

    def was_refused(self, command_id: UUID) -> bool:
        """True if the command with this id was refused when it was handled (a resend of it is a
        duplicate of a refusal, not of a change)."""
        found = self._process_recorder.max_tracking_id(tracking_name(command_id))
        return found is not None and found >= REFUSED

    def refuse_unreadable(
        self, command_id: UUID, command_type: str, announce: Callable[[], None]
    ) -> Verdict:
        """A command that arrived but could not be read as one (bad form JSON, unknown outcome):
        refused like any other on its first arrival, a duplicate after that."""
        if self.has_processed(command_id):
            verdict = Verdict.DUPLICATE
        else:
            announce()
            self._record_refusal(command_id)
            verdict = Verdict.REJECTED
        for observer in self.observers:
            observer.command_handled(command_type, verdict, UNREADABLE)
        return verdict

    def _record_refusal(self, command_id: UUID) -> None:
        """Remember a refused command id, so the same command is not refused (announced) twice."""
        with suppress(IntegrityError):  # recorded already by a twin
            self._process_recorder.insert_events(
                [], tracking=command_tracking(command_id, refused=True)
            )

    @property
    def _process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    def save(  # type: ignore[override]
        self,
        *cases: Application,
        tracking: Tracking | None = None,
        trackings: Sequence[Tracking] = (),
    ) -> list[Recording[UUID]]:
        """Store the cases' new events (with ``tracking``, if given, in the same transaction;
        ``trackings`` too, when the recorder is a ``GroupRecorder``).

        The library's save, plus: a conflicting writer becomes ``ConcurrentUpdate``, and
        observers hear of the new events. The only save path: ``handle`` and tests use it.
        """
        processing = ProcessingEvent[UUID](tracking=tracking)
        for case in cases:  # the library's collect_events, without its protocol checks (~50 µs)
            processing.events.extend(case.collect_events())
            processing.aggregates[case.id] = case
        if trackings:
            processing.saved_kwargs["trackings"] = list(trackings)
        try:
            recordings = self._record(processing)
        except BaseException as failure:
            self.mapper.forget(case.id for case in cases)  # their chain links were not stored
            if isinstance(failure, IntegrityError):
                raise ConcurrentUpdate(cases[0].id if cases else UUID(int=0)) from None
            raise
        for case in cases:  # stored: its scope is known without reading it back
            self.remember_scope(case.id, case.service, case.kommunenummer)
        self._take_snapshots(processing)
        self._notify(recordings)
        by_case: dict[UUID, list[object]] = {}
        for domain_event in processing.events:
            by_case.setdefault(domain_event.originator_id, []).append(domain_event)
        for case in cases:
            new = by_case.get(case.id, [])
            took = _decision_seconds(case, new)
            for observer in self.observers:
                observer.events_recorded(case.service, new)
                if took is not None:
                    observer.decided(case.service, case.kommunenummer, took)
        return recordings


FIRST_DECISIONS = {"DecisionMade", "PermitDeemedGranted"}


def _decision_seconds(case: Application, new: Sequence[object]) -> float | None:
    """Submission to first decision, when these new events hold it (not an appeal's new vedtak)."""
    names = {type(e).__name__ for e in new}
    if not names & FIRST_DECISIONS or "AppealReviewed" in names or case.superseded:
        return None
    if case.decided_at is None or case.submitted_at is None:
        return None
    return (case.decided_at - case.submitted_at).total_seconds()
