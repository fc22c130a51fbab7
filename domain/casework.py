"""The ``Casework`` application: the one way a command reaches a case (``handle``).

Persistence comes from the environment mapping it is given (built by ``saksflyt.settings``), never
from ``os.environ`` directly: SQLite by default, PostgreSQL in production, AES-GCM encryption of whole
events when a key is configured, and a snapshot every 50 events. Nothing about the command being
handled lives on this object, which many threads share: it travels as arguments.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import date, datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.application import Application as EventSourcedApp
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    ProcessRecorder,
    Recording,
    Tracking,
    Transcoding,
)
from eventsourcing.utils import Environment

from domain import commands as cmd
from domain.application import Application
from domain.commands import Command, Handled, Verdict
from domain.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
)
from domain.lifecycle import local_date
from domain.payload import check_payload
from domain.places import Kommunenummer
from domain.services import Catalogue, RetentionAction, Service
from domain.timing import check_signed_at, record_time

SNAPSHOT_INTERVAL = 50
Announce = Callable[[Handled], None]
CONCURRENCY_ATTEMPTS = 5
CASE_LOCKS = 64
UNREADABLE = "invalid-command"  # the code of a command that could not be read as one


class Observer(Protocol):
    """Told of every handled command and every save (metrics are wired in by ``saksflyt``)."""

    def command_handled(self, command_type: str, verdict: str, code: str | None) -> None: ...
    def events_recorded(self, service: str, events: Sequence[object]) -> None: ...


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` (deadlines) as ISO strings; the library covers datetimes only."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Casework(EventSourcedApp[UUID]):
    """Use cases of case processing. Raises domain errors; never touches Kafka, HTTP or metrics."""

    name = "saksflyt"
    snapshotting_intervals: ClassVar[dict[Any, int]] = {Application: SNAPSHOT_INTERVAL}

    def __init__(
        self, env: Mapping[str, str] | None = None, catalogue: Catalogue | None = None
    ) -> None:
        self.catalogue = catalogue or Catalogue.default()
        self.observers: list[Observer] = []
        # Commands for one case from threads of this process wait for each other instead of
        # racing to a concurrency error; other processes still meet ConcurrentUpdate and retry.
        self._case_locks = [threading.Lock() for _ in range(CASE_LOCKS)]
        super().__init__(env=dict(env or {}))

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder keeps a tracking table beside the events, written in the same
        # transaction: that is how a command id is recorded as done together with its events.
        return self.factory.process_recorder()

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        # Only the settings we are handed count: the process environment is read in one place
        # (saksflyt.settings), not again here behind its back.
        merged = {"IS_SNAPSHOTTING_ENABLED": "y", **(env or {})}
        return Environment(name, merged)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ----- loading ---------------------------------------------------------------------------

    def get_case(self, case_id: UUID, version: int | None = None) -> Application:
        try:
            case: Application = self.repository.get(case_id, version=version)
        except AggregateNotFoundError:
            raise CaseNotFound(case_id) from None
        return case

    def case_as_of(self, case_id: UUID, moment: datetime) -> Application:
        """The case as it stood at ``moment`` (business time), e.g. "as decided"."""
        version = None
        for domain_event in self.history(case_id):
            if domain_event.at > moment:  # type: ignore[attr-defined]
                break
            version = domain_event.originator_version
        if version is None:
            raise CaseNotFound(case_id)
        return self.get_case(case_id, version=version)

    def history(self, case_id: UUID) -> Iterator[DomainEventProtocol[UUID]]:
        events = iter(self.events.get(case_id))
        first = next(events, None)
        if first is None:
            raise CaseNotFound(case_id)
        yield first
        yield from events

    def exists(self, case_id: UUID) -> bool:
        return bool(self.recorder.select_events(case_id, limit=1))

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
        for observer in self.observers:
            observer.command_handled(type(command).__name__, handled.verdict, handled.code)
        return handled

    def _handle(self, command: Command, announce: Announce | None) -> Handled:
        if self.has_processed(command.command_id):
            return Handled(command, Verdict.DUPLICATE)
        for attempt in range(1, CONCURRENCY_ATTEMPTS + 1):
            try:
                case = self._decide(command)
                self.save(case, tracking=command_tracking(command.command_id))
            except ConcurrentUpdate:
                if self.has_processed(command.command_id):
                    return Handled(command, Verdict.DUPLICATE)  # a twin won the race
                if attempt == CONCURRENCY_ATTEMPTS:
                    raise
                continue
            except DomainError as refusal:
                rejected = Handled(command, Verdict.REJECTED, refusal=refusal)
                if announce is not None:
                    announce(rejected)
                self._record_refusal(command.command_id)
                return rejected
            return Handled(command, Verdict.ACCEPTED, case.version, case.status.value)
        raise AssertionError("unreachable")

    def _decide(self, command: Command) -> Application:
        """Load (or create) the case and apply the command to it; nothing is saved yet."""
        check_payload(command)
        if isinstance(command, cmd.StartApplication):
            return self._start(command)
        case = self.get_case(command.case_id)
        at = record_time(command.received_at, command.issued_at, case.last_event_at)
        STEPS[type(command)](case, command, at, self.service_of(case))
        return case

    def _start(self, c: cmd.StartApplication) -> Application:
        """Open a draft (optionally with a first mellomlagring), or file it at once."""
        service = self.catalogue.service(c.service, c.kommunenummer)
        Kommunenummer.parse(c.kommunenummer)
        at = record_time(c.received_at, c.issued_at, None)
        if self.exists(c.case_id):
            raise CaseAlreadyExists(c.case_id)
        case = Application(service=c.service, kommunenummer=c.kommunenummer, at=at, id=c.case_id)
        if isinstance(c, cmd.SubmitNewApplication):
            check_signed_at(c.signed_at, c.received_at)
            case.submit(c.form, at, service, c.signed_at)
        elif c.form:
            case.save_draft(c.form, at)
        return case

    def service_of(self, case: Application) -> Service:
        return self.catalogue.service(case.service, case.kommunenummer)

    def has_processed(self, command_id: UUID) -> bool:
        """True once a command with this id changed a case or was refused."""
        return self._process_recorder.has_tracking_id(f"command:{command_id}", 1)

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
            self._process_recorder.insert_events([], tracking=command_tracking(command_id))

    @property
    def _process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    def save(  # type: ignore[override]
        self, *cases: Application, tracking: Tracking | None = None
    ) -> list[Recording[UUID]]:
        """Store the cases' new events (with ``tracking``, if given, in the same transaction).

        The library's save, plus: a conflicting writer becomes ``ConcurrentUpdate``, and
        observers hear of the new events. The only save path: ``handle`` and tests use it.
        """
        processing = ProcessingEvent[UUID](tracking=tracking)
        processing.collect_events(*cases)
        try:
            recordings = self._record(processing)
        except IntegrityError:
            raise ConcurrentUpdate(cases[0].id if cases else UUID(int=0)) from None
        self._take_snapshots(processing)
        self._notify(recordings)
        for case in cases:
            new = [e for e in processing.events if e.originator_id == case.id]
            for observer in self.observers:
                observer.events_recorded(case.service, new)
        return recordings


def command_tracking(command_id: UUID) -> Tracking:
    """How a handled command id is remembered: a tracking record beside the events."""
    return Tracking(application_name=f"command:{command_id}", notification_id=1)


def _apply_retention(
    case: Application, c: cmd.ApplyRetention, at: datetime, service: Service
) -> None:
    """Archive or shred a closed case once its service's retention says so."""
    due = case.retention_due(service.retention.after_days)
    if due is None or local_date(at) < due:
        raise InvalidTransition(
            case.id, case.status.value, "apply retention", "retention-not-due", "not due yet"
        )
    if service.retention.action is RetentionAction.ARCHIVE:
        case.archive(c.archive_reference, at)
    else:
        case.shred(at)


def _submit(case: Application, c: cmd.SubmitApplication, at: datetime, service: Service) -> None:
    check_signed_at(c.signed_at, c.received_at)
    case.submit(c.form, at, service, c.signed_at)


# What each command (but StartApplication) does to the case it names: one aggregate step, at the
# time ``record_time`` chose, with the case's service.
Step = Callable[[Application, Any, datetime, Service], None]
STEPS: dict[type[Command], Step] = {
    cmd.SaveDraft: lambda case, c, at, _: case.save_draft(c.form, at),
    cmd.AddAttachment: lambda case, c, at, s: case.add_attachment(c.attachment, at, s),
    cmd.SubmitApplication: _submit,
    cmd.SendReceipt: lambda case, c, at, _: case.send_receipt(
        c.channel, c.message_id, at, c.address
    ),
    cmd.RequestMissingDocuments: lambda case, c, at, s: case.request_missing_documents(
        c.kinds, c.reason, at, s
    ),
    cmd.ResumeProcessing: lambda case, c, at, _: case.resume_processing(at),
    cmd.SendNeighbourNotice: lambda case, c, at, s: case.send_neighbour_notice(c.neighbours, at, s),
    cmd.RecordNeighbourComment: lambda case, c, at, _: case.record_neighbour_comment(
        c.neighbour, c.objection, at
    ),
    cmd.RecordNeighbourConsent: lambda case, c, at, _: case.record_neighbour_consent(
        c.neighbour, at
    ),
    cmd.SendPreliminaryReply: lambda case, c, at, _: case.send_preliminary_reply(
        c.reason, c.expected_by, at
    ),
    cmd.Decide: lambda case, c, at, s: case.decide(c.decision, at, s),
    cmd.Withdraw: lambda case, c, at, _: case.withdraw(c.reason, at),
    cmd.Archive: lambda case, c, at, _: case.archive(c.archive_reference, at),
    cmd.Shred: lambda case, c, at, _: case.shred(at),
    cmd.ApplyRetention: _apply_retention,
}
