"""The Kafka backbone on a real broker: intake -> event store -> relay -> consumers."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any
from uuid import uuid4

import pytest
from kafka import KafkaProducer

from consumers.delivery import EventTally
from consumers.intake import CommandIntake
from consumers.public_events import KafkaEventHandler
from consumers.relay import CasePartitions, ProcessEncoding
from consumers.topics import Topics
from domain.casework import Casework
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, open_casework
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from tests.kafka_helpers import (
    Background,
    case_commands,
    intake_runner,
    read_topic,
    relay_for,
    send_commands,
    wait_for,
)
from tests.stores import postgres_settings

CODEC = AvroCodec()
CASES = 2000
COMMANDS_PER_CASE = 5  # start (2 events), submit, decide, shred, and one the rules refuse
EVENTS_PER_CASE = 5


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """10,000 commands through intake -> PostgreSQL event store -> relay -> a test consumer."""
    import psycopg

    schema = f"kafka_{uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = postgres_settings(postgres_url, schema, tmp_path_factory.mktemp("backbone"))
    topics = Topics(prefix=f"t{uuid4().hex[:10]}")
    from consumers.topics import ensure_topics

    ensure_topics(kafka_bootstrap, topics)
    rng = random.Random(4)
    case_ids = [uuid4() for _ in range(CASES)]
    commands = [c for case_id in case_ids for c in case_commands(rng, case_id)]
    sent = send_commands(kafka_wiring.producer(kafka_bootstrap), topics.commands, commands)

    app = bootstrap(settings)
    intake, runner = intake_runner(app, kafka_bootstrap, topics, "intake")
    encoding = ProcessEncoding(open_casework, settings)  # as `saksflyt relay` runs
    relay = relay_for(bootstrap(settings), settings, kafka_bootstrap, topics, encoding=encoding)
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
    relay.close()
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


@pytest.mark.slow
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
    intake, runner = intake_runner(app, kafka_bootstrap, pipeline["topics"], "intake-replay")
    loop = Background(runner.run)
    wait_for(lambda: runner.stats.handled == pipeline["sent"], what="replay to finish")
    loop.stop()
    assert app.recorder.max_notification_id() == before
    assert (intake.stats.accepted, intake.stats.rejected) == (0, 0)
    assert intake.stats.duplicate == pipeline["sent"]


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


def test_the_relay_puts_each_case_where_the_producers_own_partitioner_does(
    kafka_bootstrap: str, topics: Topics
) -> None:
    """The relay works out a case's partition once (``CasePartitions``); it must be the one the
    producer would pick itself, or a case's events written by another producer would split."""
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        partitions = CasePartitions(producer, topics.events)
        partitions.refresh()
        assert len(partitions._partitions) > 1  # a choice to get wrong
        for key in (str(uuid4()).encode() for _ in range(100)):
            picked = producer.send(topics.events, key=key, value=b"x").get(timeout=30)
            assert partitions.of(key) == picked.partition
    finally:
        producer.close()
