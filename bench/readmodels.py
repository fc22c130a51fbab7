"""Read models on PostgreSQL: live apply rate and rebuild rate, next to a consumer that only decodes.

A synthetic month goes into a SQLite event store and through the relay onto a fresh events topic.
Then, from that topic: (1) a plain consumer (the rebuild's reader, the same settings) decodes
every message and does nothing else; (2) the projection consumer (runtime + writer, batched
transactions) applies them to PostgreSQL; (3) a rebuild reads the topic from the start into fresh
tables and swaps them in. (1) and (2) are timed from the poll that brought their first records
(joining the group left out); (3) whole, its setup and its indexes included.

    SAKSFLYT_TEST_KAFKA=host:port SAKSFLYT_TEST_POSTGRES_URL=postgresql://… python bench/projections.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from uuid import uuid4

import psycopg
from kafka import TopicPartition
from published import demo_relay

from consumers.collector import settle_collector
from consumers.dead_letters import DeadLetters
from consumers.runner import ConsumerRunner
from consumers.topics import Topics, ensure_topics
from projections.store import ProjectionWriter
from saksflyt import kafka_wiring, rebuild
from saksflyt.bootstrap import projection_store
from saksflyt.ops.metrics import TELEMETRY
from saksflyt.processes import PROJECTION_BATCH, projection_handler
from saksflyt.settings import Settings
from schemas.codec import AvroCodec


def decode_only(bootstrap_servers: str, topic: str, total: int) -> float:
    consumer = kafka_wiring.reader(bootstrap_servers)  # the rebuild's reader, the same settings
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    codec, seen, started = AvroCodec(), 0, None
    while seen < total:
        polled = time.perf_counter()
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                codec.decode(record.value)
                seen += 1
        if started is None and seen:
            started = polled  # as live_apply: from the poll that brought the first records
    consumer.close()
    return total / (time.perf_counter() - (started or 0.0))


def live_apply(bootstrap_servers: str, topics: Topics, settings: Settings, total: int) -> float:
    store = projection_store(settings)  # as `saksflyt project` opens it
    # as `saksflyt project`: its batch, its handler, its Prometheus telemetry
    writer = ProjectionWriter(store, batch_size=PROJECTION_BATCH, telemetry=TELEMETRY)
    group = f"bench-projections-{uuid4().hex[:6]}"
    runner = ConsumerRunner(
        kafka_wiring.consumer(bootstrap_servers, group, max_poll_records=PROJECTION_BATCH),
        [topics.events],
        projection_handler(writer),
        DeadLetters(kafka_wiring.producer(bootstrap_servers), topics.events_dlq, group),
        telemetry=TELEMETRY,
    )
    stop, started = threading.Event(), None
    while writer.applied < total:
        polled = time.perf_counter()
        runner.poll_once(stop)
        if started is None and (writer.applied or writer.buffer):
            started = polled  # from the poll that brought the first records: the join left out
    elapsed = time.perf_counter() - (started or 0.0)
    runner.consumer.close()
    runner.dead_letters.producer.close()  # left open, its thread took CPU from the next rounds
    store.db.close()
    return total / elapsed


def one_round(url: str, bootstrap_servers: str, topics: Topics, total: int) -> dict[str, float]:
    """Decode-only, live apply and rebuild, each read models in a fresh schema."""
    schema = f"bench_{uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = Settings(
        event_store="postgres",
        postgres_url=url,
        postgres_schema=schema,
        kafka=bootstrap_servers,
        topic_prefix=topics.prefix,
    )
    try:
        decoded = decode_only(bootstrap_servers, topics.events, total)
        live = live_apply(bootstrap_servers, topics, settings, total)
        source = rebuild.kafka_source(settings)
        started = time.perf_counter()
        rebuild.rebuild(settings, source)
        rebuilt = source.total / (time.perf_counter() - started)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return {"decode_only": decoded, "live_apply": live, "rebuild": rebuilt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved; the median is shown")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    bootstrap_servers, url = (
        os.environ["SAKSFLYT_TEST_KAFKA"],
        os.environ["SAKSFLYT_TEST_POSTGRES_URL"],
    )
    topics = Topics(prefix=f"bench{uuid4().hex[:8]}")
    ensure_topics(bootstrap_servers, topics)
    with tempfile.TemporaryDirectory() as tmp:
        relay = demo_relay(bootstrap_servers, topics, Path(tmp) / "events.db", args.applications)
        total = relay.catch_up()
        relay.close()
    # `saksflyt project` and `saksflyt rebuild` settle the collector once set up; so does this
    # process, for all three consumers: the decode-only baseline gets the same collector
    settle_collector()
    rounds = [one_round(url, bootstrap_servers, topics, total) for _ in range(args.rounds)]
    result = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    result |= {"events": total, "rounds": args.rounds}
    print(
        f"{os.cpu_count()} cores; {total} events from {args.applications} applications; "
        f"Kafka and PostgreSQL on 127.0.0.1; median of {args.rounds} rounds"
    )
    decoded = result["decode_only"]
    print(f"plain consumer, decode only   {decoded:>9,.0f} events/s")
    for name, key in (
        ("projection, live apply (PG)", "live_apply"),
        ("rebuild from the topic (PG)", "rebuild"),
    ):
        print(f"{name}   {result[key]:>9,.0f} events/s  ratio {result[key] / decoded:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
