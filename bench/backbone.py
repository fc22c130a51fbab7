"""Kafka backbone: relay throughput and end-to-end latency, each next to raw kafka-python.

Relay: a SQLite store filled by the demo is published by the relay (map + encode in its encoder
processes, produce + wait for acks + save position); raw: the same keys, values and headers sent by
a bare producer.

Latency: one StartApplication command at a time is produced to the command topic; the intake applies
it, the relay publishes its events, and a consumer of the events topic notes when the first event
of that case arrives. Raw: the same command bytes produced to a topic and consumed straight back.

    SAKSFLYT_TEST_KAFKA=host:port python bench/kafka.py [--applications N] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from kafka import KafkaConsumer
from published import demo_relay

from consumers.dead_letters import DeadLetters
from consumers.intake import CommandIntake
from consumers.public_events import to_kafka_record
from consumers.relay import ProcessEncoding, Relay
from consumers.runner import ConsumerRunner
from consumers.topics import Topics, ensure_topics
from domain import commands as cmd
from domain.lifecycle import OSLO
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, open_casework
from saksflyt.demo import synthetic
from saksflyt.demo.simulation import MONTH_START
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.kafka_layout import command_record
from schemas.mapping import command_to_record

CODEC = AvroCodec()


def relay_rate(
    bootstrap_servers: str, topics: Topics, tmp: Path, applications: int, rounds: int
) -> tuple[int, float, float]:
    """Relay and raw producer, interleaved ``rounds`` times (the relay from position 0 again
    each time); the medians."""
    relay = demo_relay(bootstrap_servers, topics, tmp / "relay.db", applications)
    messages = [to_kafka_record(e, CODEC) for _, e in relay.events.after(0, 1_000_000)]
    raw = kafka_wiring.producer(bootstrap_servers, bulk=True)  # as the relay's
    relay.catch_up()  # once untimed: the encoder processes start, as a running relay's have
    ours, theirs = [], []
    for _ in range(rounds):
        relay.position.save(0)
        started = time.perf_counter()
        count = relay.catch_up()
        ours.append(count / (time.perf_counter() - started))
        started = time.perf_counter()
        futures = [
            raw.send(topics.name("raw"), key=m.key, value=m.value, headers=m.headers)
            for m in messages
        ]
        raw.flush()
        for future in futures:
            future.get()
        theirs.append(len(messages) / (time.perf_counter() - started))
    raw.close()
    relay.close()
    return count, statistics.median(ours), statistics.median(theirs)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def _first_arrivals(
    bootstrap_servers: str, topic: str, key_of: Callable[[Any], str]
) -> tuple[dict[str, float], threading.Event, threading.Thread]:
    arrivals: dict[str, float] = {}
    stop = threading.Event()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"lat-{uuid4().hex}",
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    deadline = time.perf_counter() + 60
    while not consumer.assignment():  # bounded: a stalled join says so instead of hanging
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the reader of {topic} got no partitions within 60 s")
        consumer.poll(timeout_ms=100)
    for tp in consumer.assignment():
        consumer.position(tp)  # resolve "latest" now, before anything is sent

    def loop() -> None:
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for record in batch:
                    arrivals.setdefault(key_of(record), now)
        consumer.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return arrivals, stop, thread


def _measure(send: Callable[[int], str], arrivals: dict[str, float], samples: int) -> list[float]:
    latencies = []
    for i in range(samples):
        started = time.perf_counter()
        key = send(i)
        deadline = started + 60
        while key not in arrivals:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"sample {i} did not arrive within 60 s")
            time.sleep(0.0005)
        latencies.append(arrivals[key] - started)
    return latencies


def latency(
    bootstrap_servers: str, topics: Topics, tmp: Path, samples: int
) -> tuple[list[float], list[float]]:
    settings = Settings(
        event_store="sqlite", sqlite_path=tmp / "latency.db", key_ring=tmp / "keyring.json"
    )
    app = bootstrap(settings)
    producer = kafka_wiring.producer(bootstrap_servers)
    intake = CommandIntake(app, producer, topics.rejected)
    runner = ConsumerRunner(
        kafka_wiring.consumer(bootstrap_servers, "bench-intake"),
        [topics.commands],
        intake,
        DeadLetters(producer, topics.commands_dlq, "bench-intake"),
    )
    relay = Relay(
        bootstrap(settings),
        producer,
        topics.events,
        kafka_wiring.relay_position(settings, topics.events),
        encoding=ProcessEncoding(open_casework, settings, settings.relay_encoders),
    )
    # The reader joins its group before the relay polls every millisecond and takes a core.
    arrivals, stop_events, reader = _first_arrivals(
        bootstrap_servers, topics.events, lambda r: r.key.decode()
    )
    stop = threading.Event()
    threads = [
        threading.Thread(target=runner.run, args=(stop,), daemon=True),
        threading.Thread(target=relay.run, args=(stop, 0.001), daemon=True),
    ]
    for thread in threads:
        thread.start()
    rng = random.Random(3)

    def send_command(_: int) -> str:
        case_id = uuid4()
        command = cmd.StartApplication(
            command_id=uuid4(),
            case_id=case_id,
            issued_at=MONTH_START,
            received_at=MONTH_START,
            service="avfallsbeholder",
            kommunenummer="0301",
            form=synthetic.complete_form(rng, "avfallsbeholder", "0301"),
        )
        message = command_record(*command_to_record(command, "bench"), CODEC)
        producer.send(
            topics.commands, key=message.key, value=message.value, headers=message.headers
        )
        producer.flush()
        return str(case_id)

    _measure(
        send_command, arrivals, 1
    )  # warm-up: the intake has joined its group once this arrives
    saksflyt = _measure(send_command, arrivals, samples)
    stop.set()
    stop_events.set()
    raw_arrivals, stop_raw, raw_reader = _first_arrivals(
        bootstrap_servers, topics.name("raw-latency"), lambda r: r.key.decode()
    )

    def send_raw(i: int) -> str:
        key = f"raw-{i}"
        message = command_record(
            *command_to_record(
                cmd.Shred(
                    command_id=uuid4(),
                    case_id=uuid4(),
                    issued_at=MONTH_START.astimezone(OSLO),
                    received_at=MONTH_START.astimezone(OSLO),
                ),
                "bench",
            ),
            CODEC,
        )
        producer.send(
            topics.name("raw-latency"),
            key=key.encode(),
            value=message.value,
            headers=message.headers,
        )
        producer.flush()
        return key

    raw = _measure(send_raw, raw_arrivals, samples)
    stop_raw.set()
    for thread in (*threads, reader, raw_reader):
        thread.join(10)
    relay.close()
    return saksflyt, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved; the median is shown")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    bootstrap_servers = os.environ["SAKSFLYT_TEST_KAFKA"]
    topics = Topics(prefix=f"bench{uuid4().hex[:8]}")
    ensure_topics(bootstrap_servers, topics)
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    admin.create_topics(
        {
            topics.name("raw"): {"num_partitions": 6, "replication_factor": 1},
            topics.name("raw-latency"): {"num_partitions": 6, "replication_factor": 1},
        },
        wait_for_metadata=True,
    )
    admin.close()
    with tempfile.TemporaryDirectory() as tmp:
        count, relay_eps, raw_eps = relay_rate(
            bootstrap_servers, topics, Path(tmp), args.applications, args.rounds
        )
        ours, raw = latency(bootstrap_servers, topics, Path(tmp), args.samples)
    print(f"{os.cpu_count()} cores; Kafka on 127.0.0.1, SQLite event store")
    print(
        f"relay: {count} events {relay_eps:>9,.0f} events/s; "
        f"raw producer, same bytes: {raw_eps:>9,.0f} msg/s; ratio {relay_eps / raw_eps:.2f} "
        f"(median of {args.rounds})"
    )
    p50, p99 = _percentiles(ours)
    r50, r99 = _percentiles(raw)
    print(
        f"end to end (command produced -> event consumed), {len(ours)} samples: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(
        f"raw produce -> consume, same command bytes:          p50 {r50:.1f} ms, p99 {r99:.1f} ms"
    )
    if args.json:
        result = {
            "events": count,
            "relay_events_per_s": relay_eps,
            "raw_messages_per_s": raw_eps,
            "ratio": relay_eps / raw_eps,
            "rounds": args.rounds,
            "latency_ms": {"p50": p50, "p99": p99, "raw_p50": r50, "raw_p99": r99},
        }
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
