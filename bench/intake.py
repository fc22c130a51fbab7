"""Command intake from Kafka: group commit next to one command per transaction and the bare library.

A simulated month's commands (all ten services, the demo's mix, in arrival order) are produced
once to a fresh command topic (six partitions, keyed by case). Each round reads all of them into
a fresh event store three ways, interleaved:

- ``batched``: ``CommandIntake`` under ``ConsumerRunner``, as ``saksflyt intake`` runs them — a
  poll's commands go through ``Casework.handle_batch`` (group commit);
- ``one-by-one``: the same intake made to flush after every record (one transaction a command);
- ``bare``: the eventsourcing library with no Kafka, storing the same number of events of the
  same mean size, one load-record-save per event (``bench/eventstore.py``'s pattern).

Personal data is sealed as in production. Prints commands/s and events/s, median of the rounds,
and the ratio of batched to bare.

    SAKSFLYT_TEST_KAFKA=… SAKSFLYT_TEST_POSTGRES_URL=… python bench/intake.py [--commands N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventstore import mean_state_size, postgres_store, run_bare, sqlite_store
from kafka import KafkaProducer

from consumers.dead_letters import DeadLetters
from consumers.intake import CommandIntake
from consumers.runner import ConsumerRunner
from consumers.topics import Topics, ensure_topics
from domain import commands as cmd
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from saksflyt.demo.simulation import simulated_commands
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.kafka_layout import command_record
from schemas.mapping import COMMAND_NAMES, command_to_record

CODEC = AvroCodec()
TIMEOUT_S = 600


def month_of_commands(count: int, tmp: Path) -> list[cmd.Command]:
    """At least ``count`` commands from simulated months, cut at ``count`` in arrival order; only
    those senders put on Kafka (a receipt, a consultation or an appeal is recorded over HTTP)."""
    app = bootstrap(
        Settings(event_store="sqlite", sqlite_path=tmp / "sim.db", key_ring=tmp / "ring.json")
    )
    try:
        applications = max(count // 6, 10)
        while len(commands := on_kafka(simulated_commands(app, applications, 11))) < count:
            applications *= 2
    finally:
        app.close()
    return commands[:count]


def on_kafka(commands: list[cmd.Command]) -> list[cmd.Command]:
    return [c for c in commands if type(c) in COMMAND_NAMES]


def produce(bootstrap_servers: str, topic: str, commands: list[cmd.Command]) -> None:
    producer = kafka_wiring.producer(bootstrap_servers, "bench-sender")
    for command in commands:
        message = command_record(*command_to_record(command, "bench"), CODEC)
        producer.send(topic, key=message.key, value=message.value, headers=message.headers)
    producer.flush()
    producer.close()


class OneByOne:
    """The intake flushed after every record: one transaction per command."""

    def __init__(self, intake: CommandIntake) -> None:
        self.intake = intake

    def __call__(self, record: Any) -> None:
        self.intake(record)
        for _, error in self.intake.flush():
            raise error


def read_all(
    settings: Settings,
    bootstrap_servers: str,
    topics: Topics,
    expected: int,
    batched: bool,
    producer: KafkaProducer,
) -> tuple[float, int, int]:
    """Seconds from the first record read to the last command handled; events stored; their
    mean stored size."""
    app = bootstrap(settings)
    intake = CommandIntake(app, producer, topics.rejected)
    group = f"bench-intake-{uuid4().hex[:8]}"
    first: list[float] = []

    def handler(record: Any) -> None:
        if not first:
            first.append(time.perf_counter())
        (intake if batched else one)(record)

    one = OneByOne(intake)
    if batched:
        handler.flush = intake.flush  # type: ignore[attr-defined]
    runner = ConsumerRunner(
        kafka_wiring.consumer(bootstrap_servers, group),
        [topics.commands],
        handler,
        DeadLetters(producer, topics.commands_dlq, group),
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    stats = intake.stats
    while stats.accepted + stats.rejected + stats.duplicate < expected:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"intake handled {stats} of {expected} commands")
        time.sleep(0.005)
    finished = time.perf_counter()
    stop.set()
    thread.join(30)
    events = app.recorder.max_notification_id() or 0
    size = mean_state_size(app)
    app.close()
    if runner.stats.dead_lettered:
        raise RuntimeError(f"{runner.stats.dead_lettered} commands dead-lettered")
    return finished - first[0], events, size


@contextmanager
def store(kind: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    if kind == "postgres":
        with postgres_store(os.environ["SAKSFLYT_TEST_POSTGRES_URL"]) as made:
            yield made
    else:
        with sqlite_store() as made:
            yield made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    bootstrap_servers = os.environ["SAKSFLYT_TEST_KAFKA"]
    topics = Topics(prefix=f"bench{uuid4().hex[:8]}")
    ensure_topics(bootstrap_servers, topics)
    with tempfile.TemporaryDirectory() as tmp:
        commands = month_of_commands(args.commands, Path(tmp))
    produce(bootstrap_servers, topics.commands, commands)
    producer = kafka_wiring.producer(bootstrap_servers, "bench-intake")
    rates: dict[str, list[tuple[float, float]]] = {"batched": [], "one-by-one": [], "bare": []}
    for _ in range(args.rounds):
        for name in ("batched", "one-by-one"):
            with store(args.store) as (settings, _):
                seconds, events, size = read_all(
                    settings, bootstrap_servers, topics, len(commands), name == "batched", producer
                )
            rates[name].append((len(commands) / seconds, events / seconds))
        with store(args.store) as (_, bare_env):
            bare_events = events - events % 4
            seconds = run_bare(bare_env, bare_events // 4, size)
        rates["bare"].append((bare_events / seconds, bare_events / seconds))
    producer.close()
    print(
        f"{os.cpu_count()} cores; {args.store}; {len(commands)} commands ({events} events), "
        f"median of {args.rounds} interleaved rounds"
    )
    bare = statistics.median(e for _, e in rates["bare"])
    result: dict[str, Any] = {"store": args.store, "commands": len(commands), "events": events}
    for name, measured in rates.items():
        per_command = statistics.median(c for c, _ in measured)
        per_event = statistics.median(e for _, e in measured)
        shown = "—" if name == "bare" else f"{per_command:,.0f} cmd/s"
        print(
            f"{name:<11} {shown:>12} {per_event:>9,.0f} ev/s  ratio to bare {per_event / bare:.2f}"
        )
        result[name] = {"commands_per_s": per_command, "events_per_s": per_event}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
