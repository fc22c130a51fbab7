"""The Kafka backbone on a real broker: intake -> event store -> relay -> consumers."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from kafka import KafkaConsumer, TopicPartition

from consumers.dead_letters import DeadLetters
from consumers.delivery import EventTally, KafkaEventHandler
from consumers.intake import CommandIntake
from consumers.relay import Relay
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from domain import commands as cmd
from domain.casework import Casework
from domain.lifecycle import OSLO, Outcome
from domain.values import Decision
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from tests.kafka_helpers import Background, read_topic, send_commands, wait_for
from tests.send import start
from tests.stores import sqlite_settings

CODEC = AvroCodec()
T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)
CASES = 2000
COMMANDS_PER_CASE = 5  # start (2 events), submit, decide, shred, and one the rules refuse
EVENTS_PER_CASE = 5


def _case_commands(rng: random.Random, case_id: UUID) -> list[cmd.Command]:
    def ids() -> dict[str, Any]:
        return {"command_id": uuid4(), "case_id": case_id}

    form = synthetic.complete_form(rng, "avfallsbeholder", "0301")
    return [
        cmd.StartApplication(
            **ids(), issued_at=T0, service="avfallsbeholder", kommunenummer="0301", form=form
        ),
        cmd.SubmitApplication(**ids(), issued_at=T0 + timedelta(hours=1)),
        cmd.Decide(
            **ids(),
            issued_at=T0 + timedelta(days=3),
            decision=Decision(Outcome.GRANTED, "forurensningsloven § 30", "sb-1"),
        ),
        cmd.Shred(**ids(), issued_at=T0 + timedelta(days=90)),
        cmd.Withdraw(**ids(), issued_at=T0 + timedelta(days=91), reason="for sent"),  # refused
    ]


def _intake(
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


def _relay(
    app: Casework, settings: Settings, bootstrap_servers: str, topics: Topics, **kwargs: Any
) -> Relay:
    position = kafka_wiring.relay_position(settings, topics.events)
    return Relay(app, kafka_wiring.producer(bootstrap_servers), topics.events, position, **kwargs)


@pytest.fixture(scope="module")
def pipeline(kafka_bootstrap: str, postgres_url: str) -> dict[str, Any]:
    """10,000 commands through intake -> PostgreSQL event store -> relay -> a test consumer."""
    import psycopg

    schema = f"kafka_{uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = Settings(event_store="postgres", postgres_url=postgres_url, postgres_schema=schema)
    topics = Topics(prefix=f"t{uuid4().hex[:10]}")
    from consumers.topics import ensure_topics

    ensure_topics(kafka_bootstrap, topics)
    rng = random.Random(4)
    case_ids = [uuid4() for _ in range(CASES)]
    commands = [c for case_id in case_ids for c in _case_commands(rng, case_id)]
    sent = send_commands(kafka_wiring.producer(kafka_bootstrap), topics.commands, commands)

    app = bootstrap(settings)
    intake, runner = _intake(app, kafka_bootstrap, topics, "intake")
    relay = _relay(bootstrap(settings), settings, kafka_bootstrap, topics)
    intake_loop, relay_loop = Background(runner.run), Background(relay.run)
    tally = EventTally()
    events_in_order: list[Any] = []

    def seen_all(records: list[Any]) -> bool:
        for record in records[len(events_in_order) :]:
            events_in_order.append(record)
            KafkaEventHandler([tally])(record)
        return len(tally.seen) >= CASES * EVENTS_PER_CASE

    read_topic(kafka_bootstrap, topics.events, seen_all, timeout_s=600)
    wait_for(lambda: runner.stats.handled == sent, what="intake to handle every command")
    intake_loop.stop()
    relay_loop.stop()
    return {
        "settings": settings,
        "topics": topics,
        "sent": sent,
        "intake": intake,
        "tally": tally,
        "records": events_in_order,
        "app": app,
        "case_ids": case_ids,
    }


def test_every_event_arrives_exactly_once_after_dedupe_in_per_case_order(
    pipeline: dict[str, Any],
) -> None:
    assert pipeline["sent"] == CASES * COMMANDS_PER_CASE == 10_000
    tally: EventTally = pipeline["tally"]
    assert len(tally.seen) == CASES * EVENTS_PER_CASE
    assert tally.by_type["ApplicationShredded"] == CASES
    versions: dict[str, list[int]] = defaultdict(list)
    seen: set[bytes] = set()
    for record in pipeline["records"]:
        headers = dict(record.headers)
        if headers["ce_id"] in seen:
            continue
        seen.add(headers["ce_id"])
        versions[record.key.decode()].append(CODEC.decode(record.value).record["case_version"])
    assert len(versions) == CASES
    assert all(v == list(range(1, EVENTS_PER_CASE + 1)) for v in versions.values())


def test_refused_commands_are_announced_with_their_rule(
    pipeline: dict[str, Any], kafka_bootstrap: str
) -> None:
    intake: CommandIntake = pipeline["intake"]
    assert (intake.stats.accepted, intake.stats.rejected) == (CASES * 4, CASES)
    rejected = read_topic(kafka_bootstrap, pipeline["topics"].rejected, lambda r: len(r) >= CASES)
    assert len(rejected) == CASES
    first = CODEC.decode(rejected[0].value)
    assert first.name == "CommandRejected"
    assert first.record["command_type"] == "Withdraw"
    assert first.record["rule"] == "case-shredded"
    assert "shredded (kassert)" in first.record["reason"]
    assert str(first.record["case_id"]) in first.record["reason"]


def test_replaying_the_command_topic_from_offset_zero_adds_nothing(
    pipeline: dict[str, Any], kafka_bootstrap: str
) -> None:
    app: Casework = pipeline["app"]
    before = app.recorder.max_notification_id()
    intake, runner = _intake(app, kafka_bootstrap, pipeline["topics"], "intake-replay")
    loop = Background(runner.run)
    wait_for(lambda: runner.stats.handled == pipeline["sent"], what="replay to finish")
    loop.stop()
    assert app.recorder.max_notification_id() == before
    assert (intake.stats.accepted, intake.stats.rejected) == (0, 0)
    assert intake.stats.duplicate == pipeline["sent"]


def _sqlite_settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path)


def test_a_poison_message_goes_to_the_dlq_and_the_next_one_is_processed(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    producer = kafka_wiring.producer(kafka_bootstrap)
    case_id = uuid4()
    poison = os.urandom(64)
    producer.send(topics.commands, key=str(case_id).encode(), value=poison)
    producer.flush()
    good = _case_commands(random.Random(1), case_id)[:1]
    send_commands(producer, topics.commands, good)
    app = bootstrap(_sqlite_settings(tmp_path))
    _, runner = _intake(app, kafka_bootstrap, topics, "intake")
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
    app = bootstrap(_sqlite_settings(tmp_path))
    _, runner = _intake(app, kafka_bootstrap, topics, "intake")
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
    settings = _sqlite_settings(tmp_path)
    app = bootstrap(settings)
    for _ in range(40):
        start(app, "avfallsbeholder", T0)
    stored = app.recorder.max_notification_id() or 0

    def killed(position: int) -> None:
        raise RuntimeError(f"relay killed after publishing up to {position}")

    first = _relay(app, settings, kafka_bootstrap, topics, before_save=killed, batch_size=25)
    stop = threading.Event()
    assert first.position.acquire(stop)
    with pytest.raises(RuntimeError, match="killed"):
        first.publish_batch()
    first.position.release()
    second = _relay(app, settings, kafka_bootstrap, topics)
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
    postgres_url: str, postgres_schema: str, kafka_bootstrap: str, topics: Topics
) -> None:
    settings = Settings(
        event_store="postgres", postgres_url=postgres_url, postgres_schema=postgres_schema
    )
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
    commands = _case_commands(random.Random(2), case_id)[:2]
    send_commands(kafka_wiring.producer(kafka_bootstrap), topics.commands, commands)
    env = {
        **os.environ,
        "SAKSFLYT_KAFKA": kafka_bootstrap,
        "SAKSFLYT_TOPIC_PREFIX": topics.prefix,
        "SAKSFLYT_EVENT_STORE": "sqlite",
        "SAKSFLYT_SQLITE_PATH": str(tmp_path / "events.db"),
    }
    process = subprocess.Popen([sys.executable, "-m", "saksflyt", "intake"], env=env)
    reader = bootstrap(_sqlite_settings(tmp_path))
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


def test_read_models_rebuilt_from_the_topic_equal_those_from_the_event_store(
    pipeline: dict[str, Any], kafka_bootstrap: str
) -> None:
    from projections.tables import READ_MODELS
    from saksflyt import rebuild
    from saksflyt.bootstrap import projection_store

    settings: Settings = pipeline["settings"].model_copy(
        update={"kafka": kafka_bootstrap, "topic_prefix": pipeline["topics"].prefix}
    )

    def snapshot() -> dict[str, list[dict[str, Any]]]:
        store = projection_store(settings)
        rows = {
            t.name: store.db.rows(
                f"SELECT * FROM {t.name} ORDER BY {', '.join(t.key)}", table=t.name
            )
            for t in READ_MODELS
        }
        store.db.close()
        return rows

    assert (
        rebuild.rebuild(settings, rebuild.StoreSource(pipeline["app"])) == CASES * EVENTS_PER_CASE
    )
    from_store = snapshot()
    source = rebuild.kafka_source(settings)
    assert source.total >= CASES * EVENTS_PER_CASE  # the topic may hold duplicates: dropped
    assert rebuild.rebuild(settings, source) == CASES * EVENTS_PER_CASE
    assert snapshot() == from_store
    assert len(from_store["case_overview"]) == CASES


def test_a_second_intake_joining_the_group_neither_loses_nor_doubles_work(
    postgres_url: str, postgres_schema: str, kafka_bootstrap: str, topics: Topics
) -> None:
    settings = Settings(
        event_store="postgres", postgres_url=postgres_url, postgres_schema=postgres_schema
    )
    rng = random.Random(6)
    waves = [[_case_commands(rng, uuid4())[0] for _ in range(n)] for n in (100, 200)]
    producer = kafka_wiring.producer(kafka_bootstrap)
    first_app, second_app = bootstrap(settings), bootstrap(settings)
    _, first = _intake(first_app, kafka_bootstrap, topics, "intake")
    _, second = _intake(second_app, kafka_bootstrap, topics, "intake")
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
