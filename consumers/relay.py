"""The relay: event store notification log -> public Avro records -> Kafka (``saksflyt.events``).

It reads the notifications after its last published position, maps each to the public record with
CloudEvents headers, produces them with the idempotent producer (acks=all), waits for every ack,
and only then records the new position. A crash between produce and position-save publishes the
batch again: at-least-once, with duplicates that consumers drop by event id or (case, version).

While it catches up, one batch is in flight while the next is read, mapped and sent: the broker's
acknowledgements overlap the next batch's work instead of stalling it. Positions are still saved
in order, each once its batch is acknowledged.

Batches are ranges of notification ids up to the store's newest (a range may hold fewer events
than its length: ids a rolled-back transaction took are never used). Mapping and encoding a range
is done on the relay's own thread (``ThreadEncoding``), or by encoder processes
(``ProcessEncoding``) reading the store themselves, several ranges at once, while the relay's
thread only sends: one Python thread cannot map, encode and send as fast as it can send.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from consumers.collector import settle_collector
from consumers.positions import RelayPosition
from consumers.public_events import PublicEvents, to_kafka_record
from consumers.telemetry import NO_TELEMETRY, Telemetry
from domain.casework import Casework
from schemas.codec import AvroCodec

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 60
PARENT_CHECK_S = 1.0  # how often an encoder process looks whether the relay is still there
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


Headers = list[tuple[str, bytes]]
# a record's key, value and headers: a plain tuple, not a KafkaRecord, because encoder processes
# pickle every one to the relay — a tuple goes through pickle and back in ~0.4 µs, the dataclass
# in ~1.8 µs (measured, 1,000 records), paid on the relay's sending core
Encoded = tuple[bytes, bytes, Headers]
Batch = tuple[int, list[Encoded]]  # the range's last notification id, and its records
Ranges = Iterable[tuple[int, int]]  # first and last notification id of each batch, in order


def encode_range(events: PublicEvents, first: int, last: int) -> list[Encoded]:
    """The stored events with notification ids ``first`` to ``last`` as Kafka records' parts."""
    notifications = events.app.recorder.select_notifications(
        start=first, limit=last - first + 1, stop=last
    )
    encoded = []
    for notification in notifications:
        record = to_kafka_record(events.to_public(notification), events.codec)
        encoded.append((record.key, record.value, record.headers))
    return encoded


class Encoding(Protocol):
    """Turns ranges of notification ids into records, handing them back in order."""

    def batches(self, ranges: Ranges) -> Generator[Batch, None, None]: ...

    def close(self) -> None: ...


class ThreadEncoding:
    """Each range mapped and encoded on the relay's own thread, when the relay asks for it."""

    def __init__(self, events: PublicEvents) -> None:
        self.events = events

    def batches(self, ranges: Ranges) -> Generator[Batch, None, None]:
        for first, last in ranges:
            yield last, encode_range(self.events, first, last)

    def close(self) -> None:
        return None


_ENCODER: PublicEvents | None = None  # an encoder process's own view of the store


def _start_encoder(open_app: Callable[[Any], Casework], settings: Any) -> None:
    global _ENCODER
    # An interrupt (Ctrl-C reaches the whole process group) is the relay's to act on: it closes
    # its encoders as it stops. SIGTERM ends an encoder (the pool terminates its processes with
    # it). An encoder leaves by itself when the relay is gone (killed: nothing would close it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_leave_with, args=(os.getppid(),), name="encoder-parent", daemon=True
    ).start()
    _ENCODER = PublicEvents(open_app(settings), AvroCodec())
    settle_collector()


def _leave_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _encode_in_process(first: int, last: int) -> list[Encoded]:
    assert _ENCODER is not None, "the encoder process was not started"
    return encode_range(_ENCODER, first, last)


class ProcessEncoding:
    """``processes`` encoder processes, each opening the store with ``open_app(settings)``; one
    range more than there are processes is handed out ahead, so each has the next while the
    relay sends the last. Started fresh (spawn), not forked from a process with threads.

    A process that dies, or an event that cannot be encoded, fails the batch: the relay stops
    with the error before saving its position, as it does when encoding on its own thread."""

    def __init__(
        self, open_app: Callable[[Any], Casework], settings: Any, processes: int = 2
    ) -> None:
        self.processes = processes
        self.pool = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_encoder,
            initargs=(open_app, settings),
        )

    def batches(self, ranges: Ranges) -> Generator[Batch, None, None]:
        ahead: deque[tuple[int, Future[list[Encoded]]]] = deque()
        try:
            for first, last in ranges:
                ahead.append((last, self.pool.submit(_encode_in_process, first, last)))
                if len(ahead) > self.processes:
                    done_last, done = ahead.popleft()
                    yield done_last, done.result()
            while ahead:
                done_last, done = ahead.popleft()
                yield done_last, done.result()
        finally:
            for _, waiting in ahead:
                waiting.cancel()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


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
        encoding: Encoding | None = None,
    ) -> None:
        self.telemetry = telemetry
        self.codec = codec or AvroCodec()
        self.events = PublicEvents(app, self.codec)
        self.encoding = encoding or ThreadEncoding(self.events)
        self.producer, self.topic, self.position = producer, topic, position
        self.batch_size = batch_size
        self.partitions = CasePartitions(producer, topic)
        self.before_save = before_save  # a hook for fault tests: runs between ack and save
        self.published = 0

    def publish_batch(self) -> int:
        """Publish the next batch and wait for it; return how many events went out (0: caught up)."""
        position = self.position.load()
        ranges = itertools.islice(self._ranges(position, self.events.head()), 1)
        batch = next(self.encoding.batches(ranges), None)
        if batch is None:
            self.telemetry.published(0, 0.0, 0)
            return 0
        sent = self._send(*batch)
        self.producer.flush(timeout=ACK_TIMEOUT_S)
        return self._settle(sent)

    def _ranges(self, position: int, head: int) -> Iterator[tuple[int, int]]:
        """Batches of notification ids after ``position``, up to ``head``."""
        for first in range(position + 1, head + 1, self.batch_size):
            yield first, min(first + self.batch_size - 1, head)

    def _send(self, last: int, records: list[Encoded]) -> _Sent:
        """Hand a batch's records to the producer, each to its case's partition."""
        started = time.perf_counter()
        self.partitions.refresh()
        send, topic, partition_of = self.producer.send, self.topic, self.partitions.of
        futures = [
            send(topic, key=key, value=value, headers=headers, partition=partition_of(key))
            for key, value, headers in records
        ]
        return _Sent(last, futures, started)

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
        except BrokenProcessPool:
            if not stop.is_set():
                raise
            log.info("relay stopping: its encoders were stopped with it")  # a SIGTERM to all
        finally:
            self.producer.flush(timeout=ACK_TIMEOUT_S)
            self.position.release()

    def catch_up(self, stop: threading.Event | None = None) -> int:
        """Publish until nothing is left (or ``stop``), one batch in flight while the next is
        sent; return the count."""
        total = 0
        in_flight: _Sent | None = None
        position = self.position.load()
        while not (stop is not None and stop.is_set()):
            head = self.events.head()
            if head <= position:
                break
            batches = self.encoding.batches(self._ranges(position, head))
            try:
                for last, records in batches:
                    sent = self._send(last, records)
                    if in_flight is not None:
                        total += self._settle(in_flight)
                    in_flight, position = sent, last
                    if stop is not None and stop.is_set():
                        break
            finally:
                batches.close()  # ranges handed out ahead and not wanted now are called off
        if in_flight is not None:
            self.producer.flush(timeout=ACK_TIMEOUT_S)  # caught up: no lingering
            total += self._settle(in_flight)
        else:
            self.telemetry.published(0, 0.0, self._backlog(position))
        return total

    def close(self) -> None:
        """Stop the encoder processes, if any."""
        self.encoding.close()
