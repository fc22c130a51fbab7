"""Group commit: a batch of commands decided in order and stored in one transaction, with the
same outcomes as handling them one by one (``GroupCommit.handle_batch``, a part of ``Casework``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Tracking

from domain import commands as cmd
from domain.application import Application
from domain.case_store import CASE_LOCKS, CaseStore, GroupRecorder
from domain.commands import Command, Handled, Verdict
from domain.errors import CaseNotFound, ConcurrentUpdate, DomainError
from domain.personal import ErasureRequest

Announce = Callable[[Handled], None]


class BatchInterrupted(Exception):
    """A command of a batch raised something other than a refusal (its ``__cause__``).

    ``handled``: the outcomes of the commands before it, all committed. The rest were not handled.
    """

    def __init__(self, handled: list[Handled]) -> None:
        super().__init__(f"batch interrupted after {len(handled)} commands")
        self.handled = handled


@dataclass
class BatchEntry:
    command: Command
    handled: Handled  # as decided: accepted (with the case's version then), refused or duplicate
    case: Application | None = None  # accepted: the case it changed
    erasing: ErasureRequest | None = None


@dataclass
class DecidedGroup:
    """Commands decided and not yet committed, in order. One case may change several times."""

    entries: list[BatchEntry] = field(default_factory=list)
    cases: dict[UUID, Application] = field(default_factory=dict)

    def add(self, entry: BatchEntry) -> None:
        self.entries.append(entry)
        if entry.case is not None:
            self.cases[entry.case.id] = entry.case


class HalfApplied(Exception):
    """A refused command had already recorded an event on its case (a step of several events):
    the case as decided in the group is spoiled, so the group is handled one command at a time."""


class LoadedCases:
    """A batch's cases, read in one query and then kept as they are decided: a case refused, or in
    a group whose commit failed, is forgotten and read again from the store when next needed."""

    def __init__(self, app: CaseStore, stored: dict[UUID, list[StoredEvent]]) -> None:
        self.app, self.stored = app, stored
        self.cases: dict[UUID, Application] = {}

    @classmethod
    def read(
        cls, app: CaseStore, recorder: GroupRecorder, case_ids: Collection[UUID]
    ) -> LoadedCases:
        """These cases' events in one query (snapshots left aside: cases are short); a case with
        none is known not to exist."""
        return cls(app, {case_id: [] for case_id in case_ids} | recorder.events_of(case_ids))

    def case(self, case_id: UUID) -> Application:
        if case_id in self.cases:
            return self.cases[case_id]
        if case_id in self.stored:
            case = None
            for stored in self.stored.pop(case_id):  # the library's project_aggregate, without
                # its protocol check per event (~25 µs)
                case = self.app.mapper.to_domain_event(stored).mutate(case)
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


class GroupCommit(CaseStore):
    """``handle_batch``; the single-command path it falls back on is ``Casework``'s."""

    _decide: Callable[[Command, LoadedCases | None], Application]
    _handle: Callable[[Command, Announce | None], Handled]
    _observe: Callable[[list[Handled]], list[Handled]]
    _erasure_of: Callable[[Application, Command], ErasureRequest | None]
    handle: Callable[[Command, Announce | None], Handled]

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
            done = recorder.tracked([tracking_name(c.command_id) for c in commands])
            loaded = LoadedCases.read(self, recorder, {c.case_id for c in commands})
            group = DecidedGroup()
            for command in commands:
                name = tracking_name(command.command_id)
                if name in done:  # recorded before, or earlier in this batch
                    group.add(BatchEntry(command, Handled(command, Verdict.DUPLICATE)))
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

    def _decide_in_group(self, command: Command, loaded: LoadedCases) -> BatchEntry:
        version = loaded.version_of(command.case_id)
        try:
            case = self._decide(command, loaded)
        except DomainError as refusal:
            if version is None:  # read for this command: as stored, so read it again if needed
                loaded.forget([command.case_id])
            elif loaded.version_of(command.case_id) != version:
                raise HalfApplied from refusal
            return BatchEntry(command, Handled(command, Verdict.REJECTED, refusal=refusal))
        loaded.keep(case)
        handled = Handled(command, Verdict.ACCEPTED, case.version, case.status.value)
        return BatchEntry(command, handled, case, self._erasure_of(case, command))

    def _commit(
        self, group: DecidedGroup, announce: Announce | None, loaded: LoadedCases
    ) -> list[Handled]:
        """Store the group in one transaction; each command alone if another writer got between."""
        refused = [e.handled for e in group.entries if e.handled.refusal]
        if not group.cases and not refused:
            return [e.handled for e in group.entries]  # nothing, or only duplicates
        if announce is not None:
            for refusal in refused:
                announce(refusal)
        trackings = [
            command_tracking(e.command.command_id, refused=e.handled.refusal is not None)
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
        group: DecidedGroup,
        announce: Announce | None,
        loaded: LoadedCases,
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


APPLIED, REFUSED = 1, 2  # a handled command's tracking "position": what became of it


def command_tracking(command_id: UUID, refused: bool = False) -> Tracking:
    """How a handled command id is remembered: a tracking record beside the events, whose
    position says whether it was applied (1) or refused (2; stores from before this remember
    refusals as 1)."""
    mark = REFUSED if refused else APPLIED
    return Tracking(application_name=tracking_name(command_id), notification_id=mark)


def tracking_name(command_id: UUID) -> str:
    return f"command:{command_id}"
