"""The relay: event store notification log -> public Avro records -> Kafka (``saksflyt.events``).

It reads the notifications after its last published position, maps each to the public record with
CloudEvents headers, produces them with the idempotent producer (acks=all), waits for every ack,
and only then records the new position. A crash between produce and position-save publishes the
batch again: at-least-once, with duplicates that consumers drop by event id or (case, version).

While it catches up, one batch is in flight while the next is read, mapped and sent: the broker's
acknowledgements overlap the next batch's work instead of stalling it. Positions are still saved
in order, each once its batch is acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from consumers.positions import RelayPosition
from consumers.public_events import PublicEvents, to_kafka_record
from consumers.telemetry import NO_TELEMETRY, Telemetry
from domain.casework import Casework
from schemas.codec import AvroCodec

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 60
PARTITIONS_KEPT = 10_000  # cases whose partition is known (a case's events come close together)


class CasePartitions:
    """Each case's partition, as the producer's default partitioner picks it (murmur2 of the
    key over the sorted partitions, as Kafka's Java client does), worked out once per case
    instead of once per event."""

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self.producer, self.topic = producer, topic
        self._partitions: list[int] = []
        self._known: dict[bytes, int] = {}

    def refresh(self) -> None:
        """Before a batch: the topic's partitions now (a topic given more starts afresh)."""
        partitions = sorted(self.producer.partitions_for(self.topic) or ())
        if partitions != self._partitions:
            self._partitions, self._known = partitions, {}

    def of(self, key: bytes) -> int | None:
        if not self._partitions:
            return None  # not known yet: the producer picks
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= PARTITIONS_KEPT:
                self._known.clear()
            found = self._known[key] = self._partitions[
                (murmur2(key) & 0x7FFFFFFF) % len(self._partitions)
            ]
        return found


@dataclass
class _Sent:
    """A batch handed to the producer, not yet acknowledged."""

    last: int  # notification id of its last event
    futures: list[Any]
    started: float


class Relay:
    def __init__(
        self,
        app: Casework,
        producer: KafkaProducer,
        topic: str,
        position: RelayPosition,
        codec: AvroCodec | None = None,
        batch_size: int = 1000,
        before_save: Callable[[int], None] | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.telemetry = telemetry
        self.codec = codec or AvroCodec()
        self.events = PublicEvents(app, self.codec)
        self.producer, self.topic, self.position = producer, topic, position
        self.batch_size = batch_size
        self.partitions = CasePartitions(producer, topic)
        self.before_save = before_save  # a hook for fault tests: runs between ack and save
        self.published = 0

    def publish_batch(self) -> int:
        """Publish the next batch and wait for it; return how many events went out (0: caught up)."""
        sent = self._send(self.position.load())
        if sent is None:
            return 0
        self.producer.flush(timeout=ACK_TIMEOUT_S)
        return self._settle(sent)

    def _send(self, position: int) -> _Sent | None:
        """Read, map and produce the batch after ``position``; None when there is none."""
        batch = list(self.events.after(position, self.batch_size))
        if not batch:
            self.telemetry.published(0, 0.0, self._backlog(position))
            return None
        started = time.perf_counter()
        self.partitions.refresh()
        futures = []
        for _, event in batch:
            record = to_kafka_record(event, self.codec)
            send = self.producer.send(
                self.topic,
                key=record.key,
                value=record.value,
                headers=record.headers,
                partition=self.partitions.of(record.key),
            )
            futures.append(send)
        return _Sent(batch[-1][0], futures, started)

    def _settle(self, sent: _Sent) -> int:
        """Wait for every ack of the batch, then record its position."""
        for future in sent.futures:
            future.get(timeout=ACK_TIMEOUT_S)  # raises if the broker did not take it
        if self.before_save:
            self.before_save(sent.last)
        self.position.save(sent.last)
        count = len(sent.futures)
        self.published += count
        took = time.perf_counter() - sent.started
        self.telemetry.published(count, took, self._backlog(sent.last))
        log.info("published", extra={"events": count, "position": sent.last})
        return count

    def _backlog(self, position: int) -> int:
        return max(self.events.head() - position, 0)

    def run(
        self, stop: threading.Event, idle_s: float = 0.2, wakeup: threading.Event | None = None
    ) -> None:
        """Wait to be the only relay, then publish until stopped. When idle it waits for
        ``wakeup`` (set when new events are stored: PostgreSQL's NOTIFY) or ``idle_s``,
        whichever comes first — without a wake-up it polls every ``idle_s``."""
        log.info("relay waiting for the relay lock")
        if not self.position.acquire(stop):
            return
        log.info("relay active from position %d", self.position.load())
        try:
            while not stop.is_set():
                if self.catch_up(stop) == 0:
                    (wakeup or stop).wait(idle_s)
                    if wakeup is not None:
                        wakeup.clear()
        finally:
            self.producer.flush(timeout=ACK_TIMEOUT_S)
            self.position.release()

    def catch_up(self, stop: threading.Event | None = None) -> int:
        """Publish until nothing is left (or ``stop``), one batch in flight while the next is
        sent; return the count."""
        total = 0
        in_flight: _Sent | None = None
        position = self.position.load()
        while True:
            sent = None if stop is not None and stop.is_set() else self._send(position)
            if in_flight is not None:
                if sent is None:
                    self.producer.flush(timeout=ACK_TIMEOUT_S)  # caught up: no lingering
                total += self._settle(in_flight)
            if sent is None:
                return total
            in_flight, position = sent, sent.last
