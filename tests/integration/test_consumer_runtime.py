"""The consumer runtime on a real broker: what a handler's log lines carry, and what it reports
to telemetry (once a poll, with the buffered writes counted in)."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import uuid4

from consumers.dead_letters import DeadLetters
from consumers.logcontext import correlation, current
from consumers.runner import ConsumerRunner
from consumers.telemetry import Telemetry
from consumers.topics import Topics
from saksflyt import kafka_wiring
from tests.kafka_helpers import wait_for

MESSAGES = 60


class Polls(Telemetry):
    def __init__(self) -> None:
        self.reports: list[tuple[str, int, float]] = []

    def handled(self, group: str, messages: int, seconds: float) -> None:
        self.reports.append((group, messages, seconds))


class Buffering:
    """A handler that keeps what each message's log line would carry and writes in ``flush``."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.flushes = 0

    def __call__(self, record: Any) -> None:
        with correlation(case_id=record.key.decode()):
            self.seen.append(current())

    def flush(self) -> None:
        time.sleep(0.05)  # the batch's transaction
        self.flushes += 1


def _produce(bootstrap: str, topic: str) -> list[str]:
    producer = kafka_wiring.producer(bootstrap)
    ids = [str(uuid4()) for _ in range(MESSAGES)]
    for n, event_id in enumerate(ids):
        producer.send(
            topic,
            key=f"case-{n}".encode(),
            value=b"x",
            headers=[("ce_id", event_id.encode()), ("ce_type", b"t")],
            partition=0,
        )
    producer.flush()
    producer.close()
    return ids


def test_a_handlers_log_lines_carry_the_records_ids_and_telemetry_comes_once_a_poll(
    kafka_bootstrap: str, topics: Topics
) -> None:
    ids = _produce(kafka_bootstrap, topics.events)
    handler, telemetry = Buffering(), Polls()
    group = f"runtime-{uuid4().hex[:6]}"
    producer = kafka_wiring.producer(kafka_bootstrap)
    runner = ConsumerRunner(
        kafka_wiring.consumer(kafka_bootstrap, group),
        [topics.events],
        handler,
        DeadLetters(producer, topics.events_dlq, group),
        telemetry=telemetry,
    )
    stop = threading.Event()
    wait_for(
        lambda: runner.poll_once(stop) >= 0 and len(handler.seen) >= MESSAGES,
        what="every message",
    )
    runner.consumer.close()
    producer.close()

    assert handler.seen == [
        {
            "topic": topics.events,
            "partition": "0",
            "offset": str(n),
            "ce_id": ids[n],
            "case_id": f"case-{n}",
        }
        for n in range(MESSAGES)
    ]
    assert current() == {}  # nothing stays bound once a message is handled
    assert sum(messages for _, messages, _ in telemetry.reports) == MESSAGES
    # one report a poll that handled messages (each with its flush), not one a message
    assert len(telemetry.reports) == handler.flushes < MESSAGES
    assert all(group == g and seconds >= 0.05 for g, _, seconds in telemetry.reports)
