"""Event handlers get public events either from Kafka or, in the embedded default, in-process.

A handler is any ``Callable[[PublicEvent], None]``; one that buffers has ``flush(position=None)``.
``InProcessDelivery`` feeds handlers straight from the event store's notification log (no
servers), starting at a position it is given and handing each batch's last notification id to
``flush``, so a handler can keep the position durably with its own writes.
``consumers.public_events.KafkaEventHandler`` feeds the same handlers from the events topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from uuid import UUID

from consumers.public_events import EventHandler, PublicEvents, flush_all
from domain.casework import Casework
from schemas.codec import AvroCodec
from schemas.mapping import PublicEvent


class InProcessDelivery:
    def __init__(
        self,
        app: Casework,
        handlers: Iterable[EventHandler],
        position: int = 0,
        batch_size: int = 500,
    ) -> None:
        self.events = PublicEvents(app, AvroCodec())
        self.handlers = list(handlers)
        self.batch_size = batch_size
        self.position = position

    def deliver(self) -> int:
        """Hand every event after the position to every handler; return how many."""
        count = 0
        while batch := list(self.events.after(self.position, self.batch_size)):
            for _, event in batch:
                for handler in self.handlers:
                    handler(event)
            self.position = batch[-1][0]
            flush_all(self.handlers, self.position)
            count += len(batch)
            if len(batch) < self.batch_size:
                break
        return count


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
