"""The consume loop every Kafka consumer of saksflyt runs: poll -> handle -> commit.

- Offsets are committed by hand, only after the handler returned (its work is durable), and only
  for partitions this consumer still owns; on revocation the processed offsets are committed first.
- One partition's messages are handled in order, so committed offsets are always contiguous.
- A message that cannot be decoded, or whose handler fails for good, goes to the dead-letter topic
  with headers saying why, and the loop carries on. A transient failure (database or broker away)
  is retried with backoff and never skipped.
- ``stop`` (set by SIGTERM/SIGINT) ends the loop after the current message: commit, close.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from consumers.dead_letters import DeadLetters
from consumers.errors import is_transient
from consumers.logcontext import consumed, consuming
from consumers.telemetry import NO_TELEMETRY, Telemetry

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]  # takes a kafka ConsumerRecord


@dataclass
class RunnerStats:
    handled: int = 0
    dead_lettered: int = 0
    retries: int = 0


@dataclass
class _Offsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """Processed-but-uncommitted offsets, committed before a partition is taken away."""

    consumer: KafkaConsumer
    pending: dict[TopicPartition, int] = field(default_factory=dict)
    owned: frozenset[TopicPartition] = frozenset()  # as the last rebalance left it

    def commit(self, partitions: set[TopicPartition] | None = None) -> None:
        owned = self.consumer.assignment() if partitions is None else partitions
        offsets = {
            tp: OffsetAndMetadata(o, "", -1) for tp, o in self.pending.items() if tp in owned
        }
        if offsets:
            self.consumer.commit(offsets)
        for tp in offsets:
            del self.pending[tp]

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.commit(set(revoked))
        for tp in revoked:
            self.pending.pop(tp, None)
        self.owned = self.owned - set(revoked)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.owned = self.owned | set(assigned)
        log.info("assigned %d partitions", len(assigned))

    def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        for tp in lost:  # someone else owns them already: never commit for them
            self.pending.pop(tp, None)
        self.owned = self.owned - set(lost)


class ConsumerRunner:
    def __init__(
        self,
        consumer: KafkaConsumer,
        topics: list[str],
        handler: Handler,
        dead_letters: DeadLetters,
        classify_transient: Callable[[BaseException], bool] = is_transient,
        poll_timeout_ms: int = 500,
        max_backoff_s: float = 30.0,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.consumer = consumer
        self.group = dead_letters.group
        self.telemetry = telemetry
        self.handler = handler
        self.dead_letters = dead_letters
        self.is_transient = classify_transient
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff_s = max_backoff_s
        self.stats = RunnerStats()
        self.offsets = _Offsets(consumer)
        consumer.subscribe(topics, listener=self.offsets)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.poll_once(stop)
            self.offsets.commit()
        except BaseException:
            # a batch that failed on its way to the store is not durable: never commit it
            self.offsets.pending.clear()
            raise
        finally:
            self.consumer.close(autocommit=False)

    def poll_once(self, stop: threading.Event) -> int:
        batch = self.consumer.poll(timeout_ms=self.poll_timeout_ms)
        count, handled, started = 0, self.stats.handled, time.perf_counter()
        for tp, records in batch.items():
            for record in records:
                if stop.is_set() or tp not in self.consumer.assignment():
                    break  # stopping, or the partition was revoked mid-batch
                if not self._process(record, stop):
                    break  # stopped while retrying: leave it uncommitted for the next owner
                self.offsets.pending[tp] = record.offset + 1
                count += 1
        if count and not self._flush(stop):
            self.offsets.pending.clear()  # not durable: let the next owner redo the batch
            return 0
        if self.stats.handled > handled:  # once a poll: reporting each message cost ~5 % of it
            self.telemetry.handled(
                self.group, self.stats.handled - handled, time.perf_counter() - started
            )
        self.offsets.commit()
        self._report_lag(batch)
        return count

    def _report_lag(self, batch: dict[TopicPartition, list[Any]]) -> None:
        for tp in batch:
            highwater = self.consumer.highwater(tp)
            if highwater is not None and tp in self.consumer.assignment():
                lag = max(highwater - self.consumer.position(tp), 0)
                self.telemetry.lag(self.group, tp.topic, tp.partition, lag)

    def _flush(self, stop: threading.Event) -> bool:
        """A buffering handler (``flush()``) makes the batch durable before offsets are committed;
        the records it returns failed for good and go to the dead-letter topic."""
        flush = getattr(self.handler, "flush", None)
        if flush is None:
            return True
        backoff = 0.1
        while True:
            try:
                for record, error in flush() or ():
                    self._dead_letter(record, error)
                return True
            except Exception as error:
                if not self.is_transient(error) or stop.is_set():
                    raise
                self.stats.retries += 1
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _process(self, record: Any, stop: threading.Event) -> bool:
        """Handle or dead-letter the record; False only if stopped while retrying it."""
        backoff = 0.1
        while True:
            bound = consuming(record)  # its ids on every log line the handler writes
            try:
                self.handler(record)
                self.stats.handled += 1
                return True
            except Exception as error:
                if not self.is_transient(error):
                    self._dead_letter(record, error)
                    return True
                if stop.is_set():
                    return False
                self.stats.retries += 1
                self.telemetry.retry(self.group)
                log.warning(
                    "transient failure, retrying in %.1f s: %s", backoff, type(error).__name__
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            finally:
                consumed(bound)

    def _dead_letter(self, record: Any, error: BaseException) -> None:
        self.dead_letters.send(record, error)
        self.stats.dead_lettered += 1
        self.telemetry.dead_letter(self.dead_letters.topic, type(error).__name__)
        log.warning(
            "dead-lettered",
            extra={
                "reason": type(error).__name__,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
        )
