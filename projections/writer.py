"""The read-model handler: buffers public events and applies them in one transaction per batch.

Fed from Kafka (the consumer runtime commits offsets after ``flush``) or in-process from the event
store (``flush(position)`` stores the notification position in the same transaction as the rows,
so a restart goes on where it stopped instead of replaying the whole log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from projections.store import ProjectionStore
from schemas.mapping import PublicEvent

EVENT_STORE_SOURCE = "event-store"  # the position name of in-process delivery


class Reporter(Protocol):
    """Who hears of every applied batch (``saksflyt`` wires in Prometheus)."""

    def projected(self, applied: int, duplicates: int, newest: datetime | None) -> None: ...


class _Silent:
    def projected(self, applied: int, duplicates: int, newest: datetime | None) -> None:
        return None


class ProjectionWriter:
    def __init__(
        self,
        store: ProjectionStore,
        batch_size: int = 500,
        telemetry: Reporter | None = None,
        source: str = EVENT_STORE_SOURCE,
    ) -> None:
        self.store, self.batch_size = store, batch_size
        self.telemetry = telemetry or _Silent()
        self.source = source
        self.buffer: list[PublicEvent] = []
        self.applied = self.duplicates = 0

    def __call__(self, event: PublicEvent) -> None:
        self.buffer.append(event)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def position(self) -> int:
        """How far in-process delivery has brought these read models (0: from the start)."""
        return self.store.position(self.source)

    def flush(self, position: int | None = None) -> None:
        """Apply what is buffered; with ``position``, record it in the same transaction."""
        if not self.buffer and position is None:
            return
        mark = (self.source, position) if position is not None else None
        result = self.store.apply(self.buffer, mark)
        newest = max((e.record["occurred_at"] for e in self.buffer), default=None)
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.buffer = []
        self.telemetry.projected(result.applied, result.duplicates, newest)
