"""Long-running processes: the relay and the command intake, each stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any
from uuid import UUID, uuid4

from consumers.dead_letters import DeadLetters
from consumers.delivery import EventTally, InProcessDelivery, KafkaEventHandler, ProjectionWriter
from consumers.intake import CommandIntake
from consumers.relay import Relay
from consumers.runner import ConsumerRunner
from consumers.topics import Topics, ensure_topics
from domain.casework import Casework
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.settings import Settings

log = logging.getLogger(__name__)
INTAKE_GROUP = "saksflyt-intake"
PROJECTION_GROUP = "saksflyt-projections"


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: loops finish their batch, commit and close."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def require_kafka(settings: Settings) -> str:
    if not settings.kafka:
        raise SystemExit("set SAKSFLYT_KAFKA=host:port (or pass --kafka) for this command")
    return settings.kafka


def ensure(settings: Settings) -> list[str]:
    return ensure_topics(require_kafka(settings), Topics(settings.topic_prefix))


def run_relay(settings: Settings, stop: threading.Event, once: bool = False) -> int:
    bootstrap_servers = require_kafka(settings)
    topics = Topics(settings.topic_prefix)
    app = bootstrap(settings)
    producer = kafka_wiring.producer(bootstrap_servers, "saksflyt-relay")
    relay = Relay(
        app, producer, topics.events, kafka_wiring.relay_position(settings, topics.events)
    )
    try:
        if once:
            if relay.position.acquire(stop):
                relay.catch_up()
                relay.position.release()
        else:
            relay.run(stop)
    finally:
        producer.close()
        app.close()
    return relay.published


def run_intake(settings: Settings, stop: threading.Event) -> None:
    bootstrap_servers = require_kafka(settings)
    topics = Topics(settings.topic_prefix)
    app = bootstrap(settings)
    producer = kafka_wiring.producer(bootstrap_servers, "saksflyt-intake")
    intake = CommandIntake(app, producer, topics.rejected)
    runner = ConsumerRunner(
        kafka_wiring.consumer(bootstrap_servers, INTAKE_GROUP, "saksflyt-intake"),
        [topics.commands],
        intake,
        DeadLetters(producer, topics.commands_dlq, INTAKE_GROUP),
    )
    try:
        runner.run(stop)
    finally:
        producer.close()
        app.close()
    log.info("intake stopped: %s", intake.stats)


def deliver_demo_events(
    app: Casework, settings: Settings, cases: set[UUID], timeout_s: float = 120
) -> tuple[str, EventTally]:
    """Hand the demo's events to a tally and the read models: in-process, or through Kafka."""
    tally = EventTally(cases)
    store = projection_store(settings)
    handlers: list[Any] = [tally, ProjectionWriter(store)]
    if not settings.kafka:
        InProcessDelivery(app, handlers).deliver()
        store.db.close()
        return "in-process from the notification log", tally
    topics = Topics(settings.topic_prefix)
    ensure_topics(settings.kafka, topics)
    producer = kafka_wiring.producer(settings.kafka, "saksflyt-demo")
    relay = Relay(
        app, producer, topics.events, kafka_wiring.relay_position(settings, topics.events)
    )
    stop = threading.Event()
    if relay.position.acquire(stop):
        relay.catch_up()
        relay.position.release()
    group = f"saksflyt-demo-{uuid4().hex[:8]}"
    runner = ConsumerRunner(
        kafka_wiring.consumer(settings.kafka, group, "saksflyt-demo"),
        [topics.events],
        KafkaEventHandler([tally]),
        DeadLetters(producer, topics.events_dlq, group),
    )
    expected = app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout_s
    while sum(tally.by_type.values()) < expected and time.monotonic() < deadline:
        runner.poll_once(stop)
    runner.consumer.close()
    producer.close()
    return f"through Kafka ({topics.events} on {settings.kafka})", tally


def run_projector(settings: Settings, stop: threading.Event, idle_s: float = 0.5) -> None:
    """Keep the read models up to date: from Kafka when configured, else from the event store."""
    store = projection_store(settings)
    writer = ProjectionWriter(store)
    try:
        if settings.kafka:
            topics = Topics(settings.topic_prefix)
            producer = kafka_wiring.producer(settings.kafka, "saksflyt-projections")
            runner = ConsumerRunner(
                kafka_wiring.consumer(settings.kafka, PROJECTION_GROUP, "saksflyt-projections"),
                [topics.events],
                KafkaEventHandler([writer]),
                DeadLetters(producer, topics.events_dlq, PROJECTION_GROUP),
            )
            runner.run(stop)
            producer.close()
        else:
            app = bootstrap(settings)
            delivery = InProcessDelivery(app, [writer])
            while not stop.is_set():
                if delivery.deliver() == 0:
                    stop.wait(idle_s)
            app.close()
    finally:
        store.db.close()
