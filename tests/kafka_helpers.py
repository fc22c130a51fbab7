"""Small helpers for tests against the real broker: produce, read a whole topic, run in a thread."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.dead_letters import DeadLetters
from consumers.intake import CommandIntake
from consumers.relay import Relay
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from domain import commands as cmd
from domain.casework import Casework
from domain.commands import Command
from domain.lifecycle import OSLO, Outcome
from domain.values import Decision
from saksflyt import kafka_wiring
from saksflyt.demo import synthetic
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.kafka_layout import command_record
from schemas.mapping import command_to_record

CODEC = AvroCodec()
T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)


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


def intake_runner(
    app: Casework, bootstrap_servers: str, topics: Topics, group: str
) -> tuple[CommandIntake, ConsumerRunner]:
    producer = kafka_wiring.producer(bootstrap_servers)
    intake = CommandIntake(app, producer, topics.rejected)
    runner = ConsumerRunner(
        kafka_wiring.consumer(bootstrap_servers, group),
        [topics.commands],
        intake,
        DeadLetters(producer, topics.commands_dlq, group),
    )
    return intake, runner


def relay_for(
    app: Casework, settings: Settings, bootstrap_servers: str, topics: Topics, **kwargs: Any
) -> Relay:
    position = kafka_wiring.relay_position(settings, topics.events)
    return Relay(app, kafka_wiring.producer(bootstrap_servers), topics.events, position, **kwargs)


def case_commands(rng: random.Random, case_id: UUID) -> list[cmd.Command]:
    """Five commands for one waste-bin case: start, submit, decide, shred, and a refused withdraw."""

    def ids() -> dict[str, Any]:
        return {"command_id": uuid4(), "case_id": case_id}

    form = synthetic.complete_form(rng, "avfallsbeholder", "0301")
    return [
        cmd.StartApplication(
            **ids(),
            issued_at=T0,
            received_at=T0,
            service="avfallsbeholder",
            kommunenummer="0301",
            form=form,
        ),
        cmd.SubmitApplication(
            **ids(), issued_at=T0 + timedelta(hours=1), received_at=T0 + timedelta(hours=1)
        ),
        cmd.Decide(
            **ids(),
            issued_at=T0 + timedelta(days=3),
            received_at=T0 + timedelta(days=3),
            decision=Decision(Outcome.GRANTED, "forurensningsloven § 30", "sb-1"),
        ),
        cmd.Shred(**ids(), issued_at=T0 + timedelta(days=90), received_at=T0 + timedelta(days=90)),
        cmd.Withdraw(
            **ids(),
            issued_at=T0 + timedelta(days=91),
            received_at=T0 + timedelta(days=91),
            reason="for sent",
        ),  # refused
    ]
