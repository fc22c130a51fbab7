"""Small helpers for tests against the real broker: produce, read a whole topic, run in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from domain.commands import Command
from schemas.codec import AvroCodec
from schemas.kafka_layout import command_record
from schemas.mapping import command_to_record

CODEC = AvroCodec()


def send_commands(producer: KafkaProducer, topic: str, commands: Iterable[Command]) -> int:
    count = 0
    for command in commands:
        name, record = command_to_record(command, "test-system")
        message = command_record(name, record, CODEC)
        producer.send(topic, key=message.key, value=message.value, headers=message.headers)
        count += 1
    producer.flush(timeout=60)
    return count


def read_topic(
    bootstrap: str, topic: str, until: Callable[[list[Any]], bool], timeout_s: float = 120
) -> list[Any]:
    """Every record of ``topic`` from the start, until ``until(records)`` or the deadline."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    records: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while not until(records) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    consumer.close()
    return records


def wait_for(
    condition: Callable[[], bool], timeout_s: float = 120, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


class Background:
    """Run ``target(stop)`` in a thread; ``stop()`` sets the event and joins."""

    def __init__(self, target: Callable[[threading.Event], None]) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self.thread.start()

    def _run(self, target: Callable[[threading.Event], None]) -> None:
        try:
            target(self.stop_event)
        except BaseException as error:  # surfaced by stop()
            self.error = error

    def stop(self, timeout_s: float = 60) -> None:
        self.stop_event.set()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "background loop did not stop"
        if self.error:
            raise self.error
