"""The relay: event store notification log -> public Avro records -> Kafka (``saksflyt.events``).

It reads the notifications after its last published position, maps each to the public record with
CloudEvents headers, produces them with the idempotent producer (acks=all), waits for every ack,
and only then records the new position. A crash between produce and position-save publishes the
batch again: at-least-once, with duplicates that consumers drop by event id or (case, version).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from kafka import KafkaProducer

from consumers.positions import RelayPosition
from consumers.telemetry import NO_TELEMETRY, Telemetry
from domain.casework import Casework
from schemas.codec import AvroCodec
from schemas.kafka_layout import event_record, public_event_for
from schemas.mapping import PublicEvent

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 60
CONTEXT_CACHE = 100_000


class PublicEvents:
    """Notifications of the event store as public events, with each case's service and municipality."""

    def __init__(self, app: Casework, codec: AvroCodec) -> None:
        self.app, self.codec = app, codec
        self._context: dict[UUID, tuple[str, str]] = {}

    def _case_context(self, case_id: UUID, domain_event: Any) -> tuple[str, str]:
        if case_id not in self._context:
            if len(self._context) >= CONTEXT_CACHE:
                self._context.clear()
            created = domain_event
            if getattr(created, "originator_version", None) != 1:
                created = next(iter(self.app.events.get(case_id, lte=1)))
            self._context[case_id] = (created.service, created.kommunenummer)
        return self._context[case_id]

    def to_public(self, notification: Notification) -> PublicEvent:
        domain_event = self.app.mapper.to_domain_event(notification)
        case_id = UUID(str(notification.originator_id))
        service, kommunenummer = self._case_context(case_id, domain_event)
        return public_event_for(domain_event, service, kommunenummer, self.codec)

    def after(self, position: int, limit: int) -> Iterator[tuple[int, PublicEvent]]:
        for notification in self.app.recorder.select_notifications(start=position + 1, limit=limit):
            yield notification.id, self.to_public(notification)


class Relay:
    def __init__(
        self,
        app: Casework,
        producer: KafkaProducer,
        topic: str,
        position: RelayPosition,
        codec: AvroCodec | None = None,
        batch_size: int = 500,
        before_save: Callable[[int], None] | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.telemetry = telemetry
        self.codec = codec or AvroCodec()
        self.events = PublicEvents(app, self.codec)
        self.producer, self.topic, self.position = producer, topic, position
        self.batch_size = batch_size
        self.before_save = before_save  # a hook for fault tests: runs between ack and save
        self.published = 0

    def publish_batch(self) -> int:
        """Publish the next batch; return how many events went out (0: caught up)."""
        position = self.position.load()
        batch = list(self.events.after(position, self.batch_size))
        if not batch:
            self.telemetry.published(0, 0.0, self._backlog(position))
            return 0
        started = time.perf_counter()
        futures = []
        for _, event in batch:
            record = event_record(event, self.codec)
            send = self.producer.send(
                self.topic, key=record.key, value=record.value, headers=record.headers
            )
            futures.append(send)
        last = batch[-1][0]
        self.producer.flush(timeout=ACK_TIMEOUT_S)
        for future in futures:
            future.get(timeout=ACK_TIMEOUT_S)  # raises if the broker did not take it
        if self.before_save:
            self.before_save(last)
        self.position.save(last)
        self.published += len(futures)
        self.telemetry.published(len(futures), time.perf_counter() - started, self._backlog(last))
        log.info("published", extra={"events": len(futures), "position": last})
        return len(futures)

    def _backlog(self, position: int) -> int:
        return max((self.events.app.recorder.max_notification_id() or 0) - position, 0)

    def run(self, stop: threading.Event, idle_s: float = 0.2) -> None:
        """Wait to be the only relay, then publish until stopped; poll the log when idle."""
        log.info("relay waiting for the relay lock")
        if not self.position.acquire(stop):
            return
        log.info("relay active from position %d", self.position.load())
        try:
            while not stop.is_set():
                if self.publish_batch() == 0:
                    stop.wait(idle_s)
        finally:
            self.producer.flush(timeout=ACK_TIMEOUT_S)
            self.position.release()

    def catch_up(self) -> int:
        """Publish until nothing is left (for one-shot runs and tests); return the count."""
        total = 0
        while (count := self.publish_batch()) > 0:
            total += count
        return total
