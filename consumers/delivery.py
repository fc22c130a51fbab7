"""Event handlers get public events either from Kafka or, in the embedded default, in-process.

A handler is any ``Callable[[PublicEvent], None]``. ``InProcessDelivery`` feeds handlers straight
from the event store's notification log (no servers); ``KafkaEventHandler`` adapts the same
handlers to the consumer runtime by decoding each record from ``saksflyt.events``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from consumers.relay import PublicEvents
from consumers.telemetry import NO_TELEMETRY, Telemetry
from domain.casework import Casework
from projections.store import ProjectionStore
from schemas.codec import AvroCodec
from schemas.mapping import PublicEvent

EventHandler = Callable[[PublicEvent], None]


class InProcessDelivery:
    def __init__(self, app: Casework, handlers: Iterable[EventHandler], batch_size: int = 500):
        self.events = PublicEvents(app, AvroCodec())
        self.handlers = list(handlers)
        self.batch_size = batch_size
        self.position = 0

    def deliver(self) -> int:
        """Hand every event after the last position to every handler; return how many."""
        count = 0
        while True:
            batch = list(self.events.after(self.position, self.batch_size))
            for _, event in batch:
                for handler in self.handlers:
                    handler(event)
            flush_all(self.handlers)
            if batch:
                self.position = batch[-1][0]
            count += len(batch)
            if len(batch) < self.batch_size:
                return count


class KafkaEventHandler:
    """Decode a record from the events topic and pass the public event to the handlers."""

    def __init__(self, handlers: Iterable[EventHandler], codec: AvroCodec | None = None) -> None:
        self.handlers = list(handlers)
        self.codec = codec or AvroCodec()

    def __call__(self, record: Any) -> None:
        decoded = self.codec.decode(record.value)
        headers = {k: v.decode() for k, v in record.headers or []}
        event = PublicEvent(decoded.name, headers.get("ce_type", ""), decoded.record)
        for handler in self.handlers:
            handler(event)

    def flush(self) -> None:
        flush_all(self.handlers)


def flush_all(handlers: Iterable[EventHandler]) -> None:
    """Let buffering handlers write what they hold (before offsets or positions move on)."""
    for handler in handlers:
        flush = getattr(handler, "flush", None)
        if flush is not None:
            flush()


class ProjectionWriter:
    """The read-model handler: buffers events and applies them in one transaction per batch."""

    def __init__(
        self, store: ProjectionStore, batch_size: int = 500, telemetry: Telemetry = NO_TELEMETRY
    ) -> None:
        self.store, self.batch_size, self.telemetry = store, batch_size, telemetry
        self.buffer: list[PublicEvent] = []
        self.applied = self.duplicates = 0

    def __call__(self, event: PublicEvent) -> None:
        self.buffer.append(event)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            result = self.store.apply(self.buffer)
            newest = max(e.record["occurred_at"] for e in self.buffer)
            self.applied += result.applied
            self.duplicates += result.duplicates
            self.buffer = []
            self.telemetry.projected(result.applied, result.duplicates, newest)


class EventTally:
    """Counts events by type, once per event id: the smallest useful (and deduplicating) handler.

    With ``cases``, only events of those cases count (a topic may hold other runs' events too).
    """

    def __init__(self, cases: set[UUID] | None = None) -> None:
        self.cases = cases
        self.by_type: Counter[str] = Counter()
        self.seen: set[UUID] = set()
        self.duplicates = 0

    def __call__(self, event: PublicEvent) -> None:
        if self.cases is not None and event.case_id not in self.cases:
            return
        if event.event_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(event.event_id)
        self.by_type[event.name] += 1
