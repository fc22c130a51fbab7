"""The ``Casework`` application: the one way a command reaches a case (``handle``).

``handle`` dedupes by command id, applies the command's step to its case, and saves the new events
with the command id in one transaction (``domain.case_store`` holds how cases are stored and read
back). Nothing about the command being handled lives on this object, which many threads share: it
travels as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent, project_aggregate
from eventsourcing.persistence import (
    IntegrityError,
    ProcessRecorder,
    Recording,
    StoredEvent,
    Tracking,
)
from eventsourcing.utils import get_topic

from domain import commands as cmd
from domain.application import Application
from domain.case_store import CASE_LOCKS, CaseStore, GroupRecorder
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
from domain.personal import ErasureRequest
from domain.places import Kommunenummer
from domain.services import RetentionAction, Service
from domain.timing import check_signed_at, record_time

Announce = Callable[[Handled], None]
CONCURRENCY_ATTEMPTS = 5
SHREDDED = "saksflyt.application.shredded"
UNREADABLE = "invalid-command"  # the code of a command that could not be read as one


class BatchInterrupted(Exception):
    """A command of a batch raised something other than a refusal (its ``__cause__``).

    ``handled``: the outcomes of the commands before it, all committed. The rest were not handled.
    """

    def __init__(self, handled: list[Handled]) -> None:
        super().__init__(f"batch interrupted after {len(handled)} commands")
        self.handled = handled


@dataclass
class _Entry:
    command: Command
    handled: Handled  # as decided: accepted (with the case's version then), refused or duplicate
    case: Application | None = None  # accepted: the case it changed
    erasing: ErasureRequest | None = None


@dataclass
class _Group:
    """Commands decided and not yet committed, in order. One case may change several times."""

    entries: list[_Entry] = field(default_factory=list)
    cases: dict[UUID, Application] = field(default_factory=dict)

    def add(self, entry: _Entry) -> None:
        self.entries.append(entry)
        if entry.case is not None:
            self.cases[entry.case.id] = entry.case


class HalfApplied(Exception):
    """A refused command had already recorded an event on its case (a step of several events):
    the case as decided in the group is spoiled, so the group is handled one command at a time."""


class _Loaded:
    """A batch's cases, read in one query and then kept as they are decided: a case refused, or in
    a group whose commit failed, is forgotten and read again from the store when next needed."""

    def __init__(self, app: CaseStore, stored: dict[UUID, list[StoredEvent]]) -> None:
        self.app, self.stored = app, stored
        self.cases: dict[UUID, Application] = {}

    @classmethod
    def read(cls, app: CaseStore, recorder: GroupRecorder, case_ids: Collection[UUID]) -> _Loaded:
        """These cases' events in one query (snapshots left aside: cases are short); a case with
        none is known not to exist."""
        return cls(app, {case_id: [] for case_id in case_ids} | recorder.events_of(case_ids))

    def case(self, case_id: UUID) -> Application:
        if case_id in self.cases:
            return self.cases[case_id]
        if case_id in self.stored:
            events = map(self.app.mapper.to_domain_event, self.stored.pop(case_id))
            case = project_aggregate(None, events)
            if case is None:
                raise CaseNotFound(case_id)
        else:
            case = self.app.get_case(case_id)
        self.cases[case_id] = case
        return case

    def exists(self, case_id: UUID) -> bool:
        if case_id in self.cases:
            return True
        if case_id in self.stored:
            return bool(self.stored[case_id])
        return self.app.exists(case_id)

    def version_of(self, case_id: UUID) -> int | None:
        """The version of the case as decided so far in the batch (None: not read yet)."""
        case = self.cases.get(case_id)
        return None if case is None else case.version

    def keep(self, case: Application) -> None:
        self.cases[case.id] = case

    def forget(self, case_ids: Iterable[UUID]) -> None:
        for case_id in case_ids:
            self.cases.pop(case_id, None)
            self.stored.pop(case_id, None)


class Casework(CaseStore):
    """Use cases of case processing. Raises domain errors; never touches Kafka, HTTP or metrics."""

    name = "saksflyt"  # names the stored tables (saksflyt_events …): never change it

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

    def handle_batch(
        self, commands: Sequence[Command], announce: Announce | None = None
    ) -> list[Handled]:
        """Apply commands in order with group commit: the same outcomes as ``handle`` one by one,
        in one transaction.

        Which command ids are done already, and the events of every case named, are read once for
        the batch. The commands are decided in order, each against its case as the commands
        before it left it, and committed together: every case's new events and every command id,
        accepted or refused. Refusals are announced just before the commit. If the commit meets
        another writer (a case changed meanwhile, a twin recorded a command id), or a refused step
        had half changed its case, nothing of the group is stored and each command is handled
        alone, as ``handle`` would. Anything other than a refusal commits the commands decided
        before it and raises ``BatchInterrupted``.
        """
        recorder = self.recorder
        if not isinstance(recorder, GroupRecorder):
            return [self.handle(command, announce) for command in commands]
        with ExitStack() as held:
            for lock in sorted({c.case_id.int % CASE_LOCKS for c in commands}):
                held.enter_context(self._case_locks[lock])
            done = recorder.tracked([_tracking_name(c.command_id) for c in commands])
            loaded = _Loaded.read(self, recorder, {c.case_id for c in commands})
            group = _Group()
            for command in commands:
                name = _tracking_name(command.command_id)
                if name in done:  # recorded before, or earlier in this batch
                    group.add(_Entry(command, Handled(command, Verdict.DUPLICATE)))
                    continue
                done.add(name)
                try:
                    group.add(self._decide_in_group(command, loaded))
                except HalfApplied:
                    return self._observe(self._one_by_one(group, announce, loaded, commands))
                except Exception as error:
                    handled = self._commit(group, announce, loaded)
                    raise BatchInterrupted(self._observe(handled)) from error
            return self._observe(self._commit(group, announce, loaded))

    def _decide_in_group(self, command: Command, loaded: _Loaded) -> _Entry:
        version = loaded.version_of(command.case_id)
        try:
            case = self._decide(command, loaded)
        except DomainError as refusal:
            if version is None:  # read for this command: as stored, so read it again if needed
                loaded.forget([command.case_id])
            elif loaded.version_of(command.case_id) != version:
                raise HalfApplied from refusal
            return _Entry(command, Handled(command, Verdict.REJECTED, refusal=refusal))
        loaded.keep(case)
        handled = Handled(command, Verdict.ACCEPTED, case.version, case.status.value)
        return _Entry(command, handled, case, self._erasure_of(case, command))

    def _commit(self, group: _Group, announce: Announce | None, loaded: _Loaded) -> list[Handled]:
        """Store the group in one transaction; each command alone if another writer got between."""
        refused = [e.handled for e in group.entries if e.handled.refusal]
        if not group.cases and not refused:
            return [e.handled for e in group.entries]  # nothing, or only duplicates
        if announce is not None:
            for refusal in refused:
                announce(refusal)
        trackings = [
            command_tracking(e.command.command_id)
            for e in group.entries
            if e.handled.verdict is not Verdict.DUPLICATE
        ]
        new = [
            (e.case.id, e.case.kommunenummer)
            for e in group.entries
            if isinstance(e.command, cmd.StartApplication) and e.case is not None
        ]
        try:
            if new and self.vault is not None:
                self.vault.open_cases(new)
            self.save(*group.cases.values(), trackings=trackings)
        except ConcurrentUpdate:
            return self._one_by_one(group, announce, loaded)
        for entry in group.entries:
            if entry.erasing is not None and entry.case is not None:
                self.vault.erase(entry.case.id)  # type: ignore[union-attr]
        return [e.handled for e in group.entries]

    def _one_by_one(
        self,
        group: _Group,
        announce: Announce | None,
        loaded: _Loaded,
        commands: Sequence[Command] = (),
    ) -> list[Handled]:
        """Nothing of the group is stored: its commands (then the rest of ``commands``, when the
        group stopped early) each alone, against the cases as stored."""
        loaded.forget(e.command.case_id for e in group.entries)
        handled = [
            e.handled
            if e.handled.verdict is Verdict.DUPLICATE
            else self._handle(e.command, announce)
            for e in group.entries
        ]
        return handled + [self._handle(c, announce) for c in commands[len(group.entries) :]]

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

    def _load_alone(self, case_id: UUID) -> _Loaded | None:
        """The case's events in one read, where the recorder can."""
        recorder = self.recorder
        return (
            _Loaded.read(self, recorder, [case_id]) if isinstance(recorder, GroupRecorder) else None
        )

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

    def _decide(self, command: Command, loaded: _Loaded | None = None) -> Application:
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

    def _start(self, c: cmd.StartApplication, loaded: _Loaded | None = None) -> Application:
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
        return self.catalogue.service(case.service, case.kommunenummer)

    def has_processed(self, command_id: UUID) -> bool:
        """True once a command with this id changed a case or was refused."""
        return self._process_recorder.has_tracking_id(_tracking_name(command_id), 1)

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
        if trackings:
            processing.collect_events(*cases, trackings=list(trackings))
        else:
            processing.collect_events(*cases)
        try:
            recordings = self._record(processing)
        except BaseException as failure:
            self.mapper.forget(case.id for case in cases)  # their chain links were not stored
            if isinstance(failure, IntegrityError):
                raise ConcurrentUpdate(cases[0].id if cases else UUID(int=0)) from None
            raise
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


def command_tracking(command_id: UUID) -> Tracking:
    """How a handled command id is remembered: a tracking record beside the events."""
    return Tracking(application_name=_tracking_name(command_id), notification_id=1)


def _tracking_name(command_id: UUID) -> str:
    return f"command:{command_id}"


def _apply_retention(
    case: Application, c: cmd.ApplyRetention, at: datetime, service: Service
) -> None:
    """Archive or shred a closed case once its service's retention says so."""
    due = case.retention_due(service.retention.after_days, not service.individual_decision)
    if due is None or local_date(at) < due:
        raise InvalidTransition(
            case.id, case.status.value, "apply retention", "retention-not-due", "not due yet"
        )
    action, _ = service.retention.decide(case.id, case.form)
    if action is RetentionAction.ARCHIVE:
        case.archive(c.archive_reference, at, service)
    else:
        case.shred(at, service)


# What each other command does to the case it names: one aggregate step, at the time
# ``record_time`` chose, with the case's service.
Step = Callable[[Application, Any, datetime, Service], None]
STEPS: dict[type[Command], Step] = {
    cmd.SaveDraft: lambda case, c, at, _: case.save_draft(c.form, at),
    cmd.AddAttachment: lambda case, c, at, s: case.add_attachment(c.attachment, at, s),
    cmd.SendReceipt: lambda case, c, at, _: case.send_receipt(
        c.channel, c.message_id, at, c.address
    ),
    cmd.RecordMessage: lambda case, c, at, s: case.record_message(
        c.kind, c.channel, c.message_id, at, c.failure, c.attempts, c.address, s
    ),
    cmd.ExpireDraft: lambda case, c, at, _: case.expire_draft(c.after_days, at),
    cmd.DeemPermitGranted: lambda case, c, at, s: case.deem_granted(at, s),
    cmd.TakeUpContact: lambda case, c, at, s: case.take_up_contact(at, s),
    cmd.RecordSurvey: lambda case, c, at, s: case.record_survey(c.held_on, at, s),
    cmd.RequestConsultation: lambda case, c, at, s: case.request_consultation(c.party, at, s),
    cmd.RecordConsultationAnswer: lambda case, c, at, _: case.record_consultation_answer(
        c.party, c.objection, at
    ),
    cmd.ReceiveAppeal: lambda case, c, at, s: case.receive_appeal(
        c.received_on, at, s, c.sent_on, c.party
    ),
    cmd.ReviewAppeal: lambda case, c, at, s: case.review_appeal(c.decision, c.appeal_body, at, s),
    cmd.DismissAppeal: lambda case, c, at, s: case.dismiss_appeal(c.ground, c.by, at, s),
    cmd.RecordAppealResult: lambda case, c, at, s: case.record_appeal_result(
        c.result, at, s, c.decision
    ),
    cmd.RecordDecisionDelivery: lambda case, c, at, s: case.record_delivery(c.delivered_on, at, s),
    cmd.RequestMissingDocuments: lambda case, c, at, s: case.request_missing_documents(
        c.kinds, c.reason, at, s
    ),
    cmd.ResumeProcessing: lambda case, c, at, s: case.resume_processing(at, s),
    cmd.SendNeighbourNotice: lambda case, c, at, s: case.send_neighbour_notice(
        c.parties, at, s, c.neighbours
    ),
    cmd.RecordNeighbourComment: lambda case, c, at, s: case.record_neighbour_comment(
        c.neighbour, c.objection, at, s
    ),
    cmd.RecordNeighbourConsent: lambda case, c, at, _: case.record_neighbour_consent(
        c.neighbour, at
    ),
    cmd.SendPreliminaryReply: lambda case, c, at, s: case.send_preliminary_reply(
        c.reason, c.expected_by, at, s
    ),
    cmd.Decide: lambda case, c, at, s: case.decide(c.decision, at, s),
    cmd.Withdraw: lambda case, c, at, _: case.withdraw(c.reason, at),
    cmd.Archive: lambda case, c, at, s: case.archive(c.archive_reference, at, s, c.override_reason),
    cmd.Shred: lambda case, c, at, s: case.shred(at, s, c.override_reason),
    cmd.ApplyRetention: _apply_retention,
}


FIRST_DECISIONS = {"DecisionMade", "PermitDeemedGranted"}


def _decision_seconds(case: Application, new: Sequence[object]) -> float | None:
    """Submission to first decision, when these new events hold it (not an appeal's new vedtak)."""
    names = {type(e).__name__ for e in new}
    if not names & FIRST_DECISIONS or "AppealReviewed" in names or case.superseded:
        return None
    if case.decided_at is None or case.submitted_at is None:
        return None
    return (case.decided_at - case.submitted_at).total_seconds()
