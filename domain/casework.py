"""The ``Casework`` application: one method per use case, each get -> call -> save.

Persistence comes from the environment mapping it is given (built by ``saksflyt.settings``), never
from ``os.environ`` directly: SQLite by default, PostgreSQL in production, AES-GCM encryption of whole
events when a key is configured, and a snapshot every 50 events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.application import Application as EventSourcedApp
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    ProcessRecorder,
    Tracking,
    Transcoding,
)
from eventsourcing.utils import Environment

from domain.application import Application
from domain.errors import CaseAlreadyExists, CaseNotFound, ConcurrentUpdate
from domain.lifecycle import Outcome, ReceiptChannel, local_date
from domain.places import Kommunenummer
from domain.services import Catalogue, RetentionAction, Service

SNAPSHOT_INTERVAL = 50


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
        self._command: Tracking | None = None
        # Called after every save with the case's service and the new events (e.g. for metrics).
        self.observers: list[Callable[[str, Sequence[object]], None]] = []
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

    def _exists(self, case_id: UUID) -> bool:
        return bool(self.recorder.select_events(case_id, limit=1))

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

    def _service_for(self, case: Application) -> Service:
        return self.catalogue.service(case.service, case.kommunenummer)

    def _save(self, case: Application) -> None:
        processing = ProcessingEvent[UUID](tracking=self._command)
        processing.collect_events(case)
        try:
            recordings = self._record(processing)
        except IntegrityError:
            raise ConcurrentUpdate(case.id) from None
        self._take_snapshots(processing)
        self._notify(recordings)
        for observe in self.observers:
            observe(case.service, processing.events)

    # ----- idempotent commands ------------------------------------------------------------------

    @staticmethod
    def _command_tracking(command_id: UUID) -> Tracking:
        return Tracking(application_name=f"command:{command_id}", notification_id=1)

    def has_processed(self, command_id: UUID) -> bool:
        """True once a command with this id changed a case or was refused."""
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder.has_tracking_id(f"command:{command_id}", 1)

    @contextmanager
    def command(self, command_id: UUID) -> Iterator[None]:
        """Within this block, the (one) save also records ``command_id`` as processed, atomically."""
        self._command = self._command_tracking(command_id)
        try:
            yield
        finally:
            self._command = None

    def mark_processed(self, command_id: UUID) -> None:
        """Record a refused command as processed, so a replay is not refused (and announced) twice."""
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        with suppress(IntegrityError):  # already recorded
            recorder.insert_events([], tracking=self._command_tracking(command_id))

    # ----- use cases ---------------------------------------------------------------------------

    def start_application(
        self,
        service: str,
        kommunenummer: str,
        at: datetime,
        form: dict[str, Any] | None = None,
        case_id: UUID | None = None,
    ) -> UUID:
        """Open a draft (optionally with a first mellomlagring) and return the new case id."""
        self.catalogue.service(service, kommunenummer)
        Kommunenummer.parse(kommunenummer)
        if case_id is not None and self._exists(case_id):
            raise CaseAlreadyExists(case_id)
        case = Application(
            service=service, kommunenummer=kommunenummer, at=at, id=case_id or uuid4()
        )
        if form:
            case.save_draft(form, at)
        self._save(case)
        return case.id

    def save_draft(self, case_id: UUID, form: dict[str, Any], at: datetime) -> None:
        case = self.get_case(case_id)
        case.save_draft(form, at)
        self._save(case)

    def add_attachment(
        self,
        case_id: UUID,
        kind: str,
        media_type: str,
        size: int,
        sha256: str,
        storage_ref: str,
        at: datetime,
        attachment_id: UUID | None = None,
    ) -> UUID:
        case = self.get_case(case_id)
        attachment_id = attachment_id or uuid4()
        case.add_attachment(
            attachment_id, kind, media_type, size, sha256, storage_ref, at, self._service_for(case)
        )
        self._save(case)
        return attachment_id

    def submit_application(
        self, case_id: UUID, at: datetime, form: dict[str, Any] | None = None
    ) -> None:
        case = self.get_case(case_id)
        case.submit(form or {}, at, self._service_for(case))
        self._save(case)

    def send_receipt(
        self,
        case_id: UUID,
        channel: ReceiptChannel,
        message_id: str,
        at: datetime,
        address: str | None = None,
    ) -> None:
        case = self.get_case(case_id)
        case.send_receipt(channel, message_id, at, address)
        self._save(case)

    def request_missing_documents(
        self, case_id: UUID, kinds: list[str], reason: str, at: datetime
    ) -> None:
        case = self.get_case(case_id)
        case.request_missing_documents(kinds, reason, at, self._service_for(case))
        self._save(case)

    def resume_processing(self, case_id: UUID, at: datetime) -> None:
        case = self.get_case(case_id)
        case.resume_processing(at)
        self._save(case)

    def send_neighbour_notice(self, case_id: UUID, neighbours: list[str], at: datetime) -> None:
        case = self.get_case(case_id)
        case.send_neighbour_notice(neighbours, at, self._service_for(case))
        self._save(case)

    def record_neighbour_comment(
        self, case_id: UUID, neighbour: str, objection: bool, at: datetime
    ) -> None:
        case = self.get_case(case_id)
        case.record_neighbour_comment(neighbour, objection, at)
        self._save(case)

    def record_neighbour_consent(self, case_id: UUID, neighbour: str, at: datetime) -> None:
        case = self.get_case(case_id)
        case.record_neighbour_consent(neighbour, at)
        self._save(case)

    def send_preliminary_reply(
        self, case_id: UUID, reason: str, expected_by: date, at: datetime
    ) -> None:
        case = self.get_case(case_id)
        case.send_preliminary_reply(reason, expected_by, at)
        self._save(case)

    def decide(
        self, case_id: UUID, outcome: Outcome, legal_basis: str, case_officer: str, at: datetime
    ) -> None:
        case = self.get_case(case_id)
        case.decide(outcome, legal_basis, case_officer, at, self._service_for(case))
        self._save(case)

    def withdraw(self, case_id: UUID, reason: str, at: datetime) -> None:
        case = self.get_case(case_id)
        case.withdraw(reason, at)
        self._save(case)

    def archive(self, case_id: UUID, archive_reference: str, at: datetime) -> None:
        case = self.get_case(case_id)
        case.archive(archive_reference, at)
        self._save(case)

    def shred(self, case_id: UUID, at: datetime) -> None:
        case = self.get_case(case_id)
        case.shred(at)
        self._save(case)

    def apply_retention(
        self, case_id: UUID, at: datetime, archive_reference: str
    ) -> RetentionAction | None:
        """Archive or shred a closed case once its service's retention says so; None if not yet due."""
        case = self.get_case(case_id)
        retention = self._service_for(case).retention
        due = case.retention_due(retention.after_days)
        if due is None or local_date(at) < due:
            return None
        if retention.action is RetentionAction.ARCHIVE:
            case.archive(archive_reference, at)
        else:
            case.shred(at)
        self._save(case)
        return retention.action
