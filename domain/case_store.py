"""How ``Casework`` keeps its cases: the event store it is configured with, personal data sealed
on the way in (``domain.personal``), and reading a case back — now, at a version, as it stood.

Persistence comes from the environment mapping it is given (built by ``saksflyt.settings``), never
from ``os.environ`` directly: SQLite by default, PostgreSQL in production, AES-GCM encryption of
whole events when a key is configured, and a snapshot every 50 events.

A base of ``Casework``, kept apart so that module holds the command path; nothing here decides.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.application import Application as EventSourcedApp
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    ProcessRecorder,
    StoredEvent,
    Transcoding,
)
from eventsourcing.utils import Environment

from domain.application import Application
from domain.chain import ChainedMapper, Verification, verify
from domain.errors import CaseNotFound
from domain.personal import PersonalDataMapper, Vault
from domain.services import Catalogue

SNAPSHOT_INTERVAL = 50
# (service, kommunenummer) of cases lately named, ~100 bytes a case (tracemalloc): 100,000 made a
# saw tooth of ~11 % in the relay's encoder processes over 1,000,000 events (filled, cleared,
# filled); with 20,000 they grew ≤ 2.1 % (measured). A miss costs one read of the case's first event.
SCOPES_KEPT = 20_000
CASE_LOCKS = 64


class Observer(Protocol):
    """Told of every handled command and every save (metrics are wired in by ``saksflyt``)."""

    def command_handled(self, command_type: str, verdict: str, code: str | None) -> None: ...
    def events_recorded(self, service: str, events: Sequence[object]) -> None: ...
    def decided(self, service: str, kommunenummer: str, seconds: float) -> None: ...


@runtime_checkable
class GroupRecorder(Protocol):
    """A process recorder that can commit a group of commands at once (``saksflyt.recorders``):
    ``tracked`` reads which of many tracking names are recorded in one query, and
    ``insert_events(..., trackings=[...])`` writes several tracking records with the events;
    ``events_of`` reads many cases' events at once."""

    def tracked(self, names: Sequence[str]) -> set[str]: ...

    def events_of(self, case_ids: Collection[UUID]) -> dict[UUID, list[StoredEvent]]: ...


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` (deadlines) as ISO strings; the library covers datetimes only."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CaseStore(EventSourcedApp[UUID]):
    name = "saksflyt"
    mapper: ChainedMapper
    snapshotting_intervals: ClassVar[dict[Any, int]] = {Application: SNAPSHOT_INTERVAL}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        catalogue: Catalogue | None = None,
        vault: Vault | None = None,
    ) -> None:
        self.catalogue = catalogue or Catalogue.default()
        self.vault = vault  # seals personal data per case; None: stored as given (tests, bench)
        self.observers: list[Observer] = []
        # Commands for one case from threads of this process wait for each other instead of
        # racing to a concurrency error; other processes still meet ConcurrentUpdate and retry.
        self._case_locks = [threading.Lock() for _ in range(CASE_LOCKS)]
        self._scopes: dict[UUID, tuple[str, str]] = {}  # a case's first event never changes
        # the few (service, kommunenummer) pairs there are, each kept once: the cache holds
        # references to them, not a new pair of strings per case (half the cache's memory)
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}
        super().__init__(env=dict(env or {}))

    def close(self) -> None:
        super().close()
        if self.vault is not None:
            self.vault.close()

    def construct_mapper(self) -> ChainedMapper:
        # Every new event carries its case's hash-chain link (domain.chain).
        plain: Mapper[UUID] = self.factory.mapper(transcoder=self.construct_transcoder())
        parts = {
            "transcoder": plain.transcoder,
            "cipher": plain.cipher,
            "compressor": plain.compressor,
        }
        if self.vault is None:
            return ChainedMapper(self._stored_at, **parts)
        return PersonalDataMapper(self.vault, stored_at=self._stored_at, **parts)

    def _stored_at(self, case_id: UUID, version: int) -> StoredEvent | None:
        found = self.recorder.select_events(case_id, lte=version, desc=True, limit=1)
        return found[0] if found and found[0].originator_version == version else None

    def verify(
        self, case_id: UUID | None = None, page: int = 1000, want: Mapping[str, int] | None = None
    ) -> Verification:
        """Recompute the hash chains of one case, or of every case in store order (``want``:
        the versions whose links a checkpoint holds)."""
        if case_id is not None:
            return verify(self.recorder.select_events(case_id), want)
        return verify(self._all_stored(page), want)

    def _all_stored(self, page: int) -> Iterator[StoredEvent]:
        start = 1
        while batch := self.recorder.select_notifications(start=start, limit=page):
            yield from batch
            start = batch[-1].id + 1

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

    def event_at(self, case_id: UUID, version: int) -> DomainEventProtocol[UUID]:
        """The one event at ``version`` of the case (personal data opened), read alone."""
        found = next(iter(self.events.get(case_id, gt=version - 1, lte=version)), None)
        if found is None:
            raise CaseNotFound(case_id)
        return found

    def case_scope(self, case_id: UUID) -> tuple[str, str]:
        """(service, kommunenummer) of a case, from its first event, personal data left sealed.
        Kept once read (every request names its case's scope for access control; the relay
        each event's)."""
        scope = self._scopes.get(case_id)
        if scope is None:
            first = self.recorder.select_events(case_id, lte=1, limit=1)
            if not first:
                raise CaseNotFound(case_id)
            created = self.mapper.to_sealed_domain_event(first[0])
            scope = self.remember_scope(case_id, created.service, created.kommunenummer)
        return scope

    def known_scope(self, case_id: UUID) -> tuple[str, str] | None:
        """The case's scope if it is kept already (no I/O): None, ask ``case_scope``."""
        return self._scopes.get(case_id)

    def remember_scope(self, case_id: UUID, service: str, kommunenummer: str) -> tuple[str, str]:
        """Keep a case's scope seen in its first event (bounded: cleared when full)."""
        pair = (service, kommunenummer)
        pair = self._pairs.setdefault(pair, pair)
        if len(self._scopes) >= SCOPES_KEPT:
            self._scopes.clear()
        self._scopes[case_id] = pair
        return pair

    def exists(self, case_id: UUID) -> bool:
        return bool(self.recorder.select_events(case_id, limit=1))
