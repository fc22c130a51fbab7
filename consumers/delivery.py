"""Event handlers get public events either from Kafka or, in the embedded default, in-process.

A handler is any ``Callable[[PublicEvent], None]``; one that buffers has ``flush(position=None)``.
``InProcessDelivery`` feeds handlers straight from the event store's notification log (no
servers), starting at a position it is given and handing each batch's last notification id to
``flush``, so a handler can keep the position durably with its own writes.
``consumers.public_events.KafkaEventHandler`` feeds the same handlers from the events topic.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from uuid import UUID

from consumers.public_events import EventHandler, PublicEvents, flush_all
from domain.casework import Casework
from schemas.codec import AvroCodec
from schemas.mapping import PublicEvent

log = logging.getLogger(__name__)


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
            flush_all(self.handlers, batch[-1][0])
            self.position = batch[-1][0]  # after the flush: a reader waiting for it sees the rows
            count += len(batch)
            if len(batch) < self.batch_size:
                break
        return count


class CatchUp:
    """In-process delivery on a thread of its own: a command commits and answers, the read
    models follow beside it.

    ``wake()`` after a commit starts a pass within ``gather_s`` (the commits of that moment go
    in one transaction of the read models, not one each); without one a pass runs every
    ``idle_s`` (commits by another process). A reader that must see what was committed before it
    arrived asks ``reached(position, timeout_s)``, which starts a pass at once. A pass that fails
    is logged and tried again after ``idle_s``; ``failure`` says why until a pass succeeds.
    """

    def __init__(
        self, delivery: InProcessDelivery, idle_s: float = 1.0, gather_s: float = 0.02
    ) -> None:
        self.delivery = delivery
        self.idle_s, self.gather_s = idle_s, gather_s
        self.failure: Exception | None = None
        self._woken = threading.Event()
        self._asked = threading.Event()  # a reader waits: no gathering
        self._passed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="saksflyt-delivery", daemon=True)

    def start(self) -> CatchUp:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._woken.set()

    def reached(self, position: int, timeout_s: float) -> bool:
        """Wait until the read models hold every event up to ``position``; False on timeout."""
        if self.delivery.position >= position:
            return True
        self._asked.set()
        self.wake()
        with self._passed:
            return self._passed.wait_for(lambda: self.delivery.position >= position, timeout_s)

    def _run(self) -> None:
        while not self._stopping:
            if self._woken.wait(self.idle_s) and not self._stopping:
                self._asked.wait(self.gather_s)
            self._woken.clear()
            self._asked.clear()
            try:
                self.delivery.deliver()
                self.failure = None
            except Exception as error:  # the store away, a read model locked: try again
                if self.failure is None:
                    log.exception("in-process delivery failed; trying again")
                self.failure = error
                time.sleep(self.idle_s)
            with self._passed:
                self._passed.notify_all()

    def close(self) -> None:
        """Stop the thread, then deliver what was committed up to now: a pass under way when
        stopping was asked may have started before the last commits."""
        self._stopping = True
        self.wake()
        self._asked.set()
        self._thread.join(timeout=30)
        if self._thread.is_alive():  # stuck in a pass: never two passes at once
            log.warning(
                "in-process delivery did not stop; the next start goes on from its position"
            )
            return
        try:
            self.delivery.deliver()
        except Exception:  # the next start goes on from the stored position
            log.exception("in-process delivery failed while stopping")


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
