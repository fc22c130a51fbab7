"""Faults on the Kafka backbone (real broker): poison, a relay killed mid-batch, a second relay,
transient failures, SIGTERM, a second intake joining the group."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from kafka import KafkaConsumer, TopicPartition

from consumers.dead_letters import DeadLetters
from consumers.delivery import EventTally
from consumers.public_events import KafkaEventHandler
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from tests.kafka_helpers import (
    CODEC,
    T0,
    Background,
    case_commands,
    intake_runner,
    read_topic,
    relay_for,
    send_commands,
    wait_for,
)
from tests.send import start
from tests.stores import postgres_settings, sqlite_settings

pytestmark = pytest.mark.slow  # not in make test-fast


def test_a_poison_message_goes_to_the_dlq_and_the_next_one_is_processed(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    producer = kafka_wiring.producer(kafka_bootstrap)
    case_id = uuid4()
    poison = os.urandom(64)
    producer.send(topics.commands, key=str(case_id).encode(), value=poison)
    producer.flush()
    good = case_commands(random.Random(1), case_id)[:1]
    send_commands(producer, topics.commands, good)
    app = bootstrap(sqlite_settings(tmp_path))
    _, runner = intake_runner(app, kafka_bootstrap, topics, "intake")
    loop = Background(runner.run)
    wait_for(lambda: runner.stats.handled + runner.stats.dead_lettered == 2, what="both messages")
    loop.stop()

    assert app.get_case(case_id).service == "avfallsbeholder"
    dead = read_topic(kafka_bootstrap, topics.commands_dlq, lambda r: len(r) >= 1)
    assert len(dead) == 1 and dead[0].value == poison
    why = {k: v.decode() for k, v in dead[0].headers}
    assert why["dlq_error_class"] == "UndecodableMessage"
    assert why["dlq_error_message"]
    assert (why["dlq_original_topic"], why["dlq_original_offset"]) == (topics.commands, "0")


def test_an_event_on_the_command_topic_and_an_unreadable_form_are_handled_apart(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    producer = kafka_wiring.producer(kafka_bootstrap)
    record = {
        "command_id": uuid4(),
        "case_id": uuid4(),
        "issued_at": T0,
        "issued_by": "x",
        "form_json": "{not json",
    }
    producer.send(topics.commands, value=CODEC.encode("SaveDraft", record))
    not_a_command = {
        "event_id": uuid4(),
        "case_id": uuid4(),
        "case_version": 1,
        "occurred_at": T0,
        "service": "avfallsbeholder",
        "kommunenummer": "0301",
    }
    producer.send(topics.commands, value=CODEC.encode("ApplicationCreated", not_a_command))
    producer.flush()
    app = bootstrap(sqlite_settings(tmp_path))
    _, runner = intake_runner(app, kafka_bootstrap, topics, "intake")
    loop = Background(runner.run)
    wait_for(lambda: runner.stats.handled + runner.stats.dead_lettered == 2, what="both messages")
    loop.stop()
    rejected = read_topic(kafka_bootstrap, topics.rejected, lambda r: len(r) >= 1)
    assert CODEC.decode(rejected[0].value).record["rule"] == "invalid-command"
    dead = read_topic(kafka_bootstrap, topics.commands_dlq, lambda r: len(r) >= 1)
    assert dict(dead[0].headers)["dlq_error_class"] == b"NotACommand"


def test_a_relay_killed_between_produce_and_position_save_yields_duplicates_consumers_drop(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    for _ in range(40):
        start(app, "avfallsbeholder", T0)
    stored = app.recorder.max_notification_id() or 0

    def killed(position: int) -> None:
        raise RuntimeError(f"relay killed after publishing up to {position}")

    first = relay_for(app, settings, kafka_bootstrap, topics, before_save=killed, batch_size=25)
    stop = threading.Event()
    assert first.position.acquire(stop)
    with pytest.raises(RuntimeError, match="killed"):
        first.publish_batch()
    first.position.release()
    second = relay_for(app, settings, kafka_bootstrap, topics)
    assert second.position.acquire(stop)
    assert second.catch_up() == stored
    second.position.release()

    records = read_topic(kafka_bootstrap, topics.events, lambda r: len(r) >= stored + 25)
    assert len(records) == stored + 25  # the first batch went out twice
    tally = EventTally()
    handler = KafkaEventHandler([tally])
    for record in records:
        handler(record)
    assert (len(tally.seen), tally.duplicates) == (stored, 25)


def test_only_one_relay_is_active_per_event_store(
    postgres_url: str,
    postgres_schema: str,
    kafka_bootstrap: str,
    topics: Topics,
    tmp_path: Path,
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    first = kafka_wiring.relay_position(settings, topics.events)
    second = kafka_wiring.relay_position(settings, topics.events)
    assert first.acquire(threading.Event())
    give_up = threading.Event()
    threading.Timer(1.0, give_up.set).start()
    assert not second.acquire(give_up)  # waited a second, did not get it
    first.release()
    assert second.acquire(threading.Event())
    second.release()


def test_transient_failures_are_retried_not_dead_lettered(
    kafka_bootstrap: str, topics: Topics
) -> None:
    producer = kafka_wiring.producer(kafka_bootstrap)
    producer.send(topics.events, key=b"k", value=b"payload")
    producer.flush()
    calls: list[bytes] = []

    def flaky(record: Any) -> None:
        calls.append(record.value)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")

    runner = ConsumerRunner(
        kafka_wiring.consumer(kafka_bootstrap, "flaky"),
        [topics.events],
        flaky,
        DeadLetters(producer, topics.events_dlq, "flaky"),
    )
    loop = Background(runner.run)
    wait_for(lambda: runner.stats.handled == 1, what="the third try")
    loop.stop()
    assert (runner.stats.retries, runner.stats.dead_lettered, calls) == (2, 0, [b"payload"] * 3)


def test_sigterm_stops_the_intake_after_committing(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    case_id = uuid4()
    commands = case_commands(random.Random(2), case_id)[:2]
    send_commands(kafka_wiring.producer(kafka_bootstrap), topics.commands, commands)
    env = {
        **os.environ,
        "SAKSFLYT_KAFKA": kafka_bootstrap,
        "SAKSFLYT_TOPIC_PREFIX": topics.prefix,
        "SAKSFLYT_EVENT_STORE": "sqlite",
        "SAKSFLYT_SQLITE_PATH": str(tmp_path / "events.db"),
        "SAKSFLYT_KEY_RING": str(tmp_path / "keyring.json"),
    }
    process = subprocess.Popen([sys.executable, "-m", "saksflyt", "intake"], env=env)
    reader = bootstrap(sqlite_settings(tmp_path))
    wait_for(lambda: (reader.recorder.max_notification_id() or 0) >= 3, what="commands applied")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id="saksflyt-intake", enable_auto_commit=False
    )
    partitions = [
        TopicPartition(topics.commands, p)
        for p in consumer.partitions_for_topic(topics.commands) or []
    ]
    committed = sum(consumer.committed(tp) or 0 for tp in partitions)
    consumer.close()
    assert committed == len(commands)


def test_a_second_intake_joining_the_group_neither_loses_nor_doubles_work(
    postgres_url: str,
    postgres_schema: str,
    kafka_bootstrap: str,
    topics: Topics,
    tmp_path: Path,
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    rng = random.Random(6)
    waves = [[case_commands(rng, uuid4())[0] for _ in range(n)] for n in (100, 200)]
    producer = kafka_wiring.producer(kafka_bootstrap)
    first_app, second_app = bootstrap(settings), bootstrap(settings)
    _, first = intake_runner(first_app, kafka_bootstrap, topics, "intake")
    _, second = intake_runner(second_app, kafka_bootstrap, topics, "intake")
    send_commands(producer, topics.commands, waves[0])
    first_loop = Background(first.run)
    wait_for(lambda: first.stats.handled >= len(waves[0]), what="the first wave")
    assert len(first.offsets.owned) == 6
    second_loop = Background(second.run)
    wait_for(
        lambda: (
            len(first.offsets.owned) + len(second.offsets.owned) == 6
            and len(second.offsets.owned) > 0
        ),
        what="a cooperative rebalance",
    )
    send_commands(producer, topics.commands, waves[1])
    total = len(waves[0]) + len(waves[1])
    wait_for(
        lambda: first_app.recorder.max_notification_id() == 2 * total, what="every command applied"
    )
    first_loop.stop()
    second_loop.stop()
    assert second.stats.handled > 0 and first.stats.handled >= len(waves[0])
    assert first_app.recorder.max_notification_id() == 2 * total  # nothing lost, nothing doubled
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id="intake", enable_auto_commit=False
    )
    partitions = [
        TopicPartition(topics.commands, p)
        for p in consumer.partitions_for_topic(topics.commands) or []
    ]
    assert sum(consumer.committed(tp) or 0 for tp in partitions) == total
    consumer.close()
