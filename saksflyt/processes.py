"""Long-running processes — relay, command intake, projector — each stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from consumers.collector import settle_collector
from consumers.dead_letters import DeadLetters
from consumers.delivery import EventTally, InProcessDelivery
from consumers.intake import CommandIntake
from consumers.public_events import KafkaEventHandler
from consumers.relay import ProcessEncoding, Relay
from consumers.runner import ConsumerRunner
from consumers.topics import Topics, ensure_topics
from domain.casework import Casework
from projections import queries
from projections.store import ProjectionWriter
from saksflyt import kafka_wiring
from saksflyt.bootstrap import (
    bootstrap,
    key_ring,
    open_casework,
    projection_database,
    projection_store,
)
from saksflyt.ops.health import Check, OpsServer
from saksflyt.ops.metrics import TELEMETRY, GaugeRefresher
from saksflyt.privacy.sealed import Unsealer, dead_letter_sealer
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.registry import default_registry

log = logging.getLogger(__name__)
INTAKE_GROUP = "saksflyt-intake"
PROJECTION_GROUP = "saksflyt-projections"
# `saksflyt project` from Kafka: up to this many events a poll, applied in one transaction. What a
# batch costs besides its events (the read of its cases, the status row, the commit, the offsets'
# commit at the broker) is paid once per 2,000 rather than per 500: catching up ~5 % faster
# (median of 4 interleaved runs of 36,000 events). A poll near the end holds what has arrived.
PROJECTION_BATCH = 2000


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
    security = kafka_wiring.security(settings)
    wait = int(settings.connect_timeout_seconds * 1000)  # a command answers, it does not hang
    return ensure_topics(
        require_kafka(settings),
        Topics(settings.topic_prefix),
        settings.topic_replication,
        settings.topic_min_insync_replicas,
        bootstrap_timeout_ms=wait,
        **security,
    )


@contextmanager
def ops_server(settings: Settings, checks: dict[str, Check]) -> Iterator[None]:
    """/metrics, /healthz and /readyz on ``metrics_port`` while the process runs (if set)."""
    if settings.metrics_port is None:
        yield
        return
    server = OpsServer(
        settings.metrics_port,
        checks,
        settings.prometheus_multiproc_dir,
        settings.metrics_host,
    ).start()
    log.info("metrics on %s:%d", settings.metrics_host, server.port)
    try:
        yield
    finally:
        server.close()


def _kafka_check(bootstrap_servers: str) -> Check:
    """Reachable means a broker of the bootstrap list accepts a connection within 2 s."""

    def check() -> None:
        for server in bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
                return
            except OSError:
                continue
        raise ConnectionError("no broker of the bootstrap list answers")

    return check


@contextmanager
def stored_events_notified(settings: Settings, app: Casework) -> Iterator[threading.Event | None]:
    """PostgreSQL: an event set whenever new events are stored — the event store's recorder
    NOTIFYs its channel on every insert; this LISTENs on its own connection — so the relay
    publishes at once instead of at its next poll. None for SQLite (the relay polls)."""
    channel = getattr(app.recorder, "channel_name", None)
    url = settings.postgres_url
    if settings.event_store != "postgres" or not url or not channel:
        yield None
        return
    stored, stop = threading.Event(), threading.Event()

    def listen() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            while not stop.is_set():
                for _ in conn.notifies(timeout=0.5, stop_after=1):
                    stored.set()

    thread = threading.Thread(target=listen, name="relay-listen", daemon=True)
    thread.start()
    try:
        yield stored
    finally:
        stop.set()
        thread.join(5)


def run_relay(settings: Settings, stop: threading.Event, once: bool = False) -> int:
    bootstrap_servers = require_kafka(settings)
    topics = Topics(settings.topic_prefix)
    app = bootstrap(settings)
    producer = kafka_wiring.producer(
        bootstrap_servers, "saksflyt-relay", security=kafka_wiring.security(settings), bulk=True
    )
    position = kafka_wiring.relay_position(settings, topics.events)
    encoding = (
        ProcessEncoding(open_casework, settings, settings.relay_encoders)
        if settings.relay_encoders
        else None
    )
    relay = Relay(app, producer, topics.events, position, telemetry=TELEMETRY, encoding=encoding)
    settle_collector()  # its sending thread holds a batch's futures: no passes over them for nothing
    checks = {
        "event_store": app.recorder.max_notification_id,
        "kafka": _kafka_check(bootstrap_servers),
    }
    try:
        with ops_server(settings, checks), stored_events_notified(settings, app) as wakeup:
            if not once:
                relay.run(stop, idle_s=1.0 if wakeup else 0.2, wakeup=wakeup)
            elif relay.position.acquire(stop):
                relay.catch_up()
                relay.position.release()
    finally:
        relay.close()
        producer.close()
        app.close()
    return relay.published


def run_intake(settings: Settings, stop: threading.Event) -> None:
    bootstrap_servers = require_kafka(settings)
    topics = Topics(settings.topic_prefix)
    app = bootstrap(settings)
    producer = kafka_wiring.producer(
        bootstrap_servers, "saksflyt-intake", security=kafka_wiring.security(settings)
    )
    keys = key_ring(settings)
    unseal = Unsealer(keys, default_registry(), settings.require_sealed_commands)
    intake = CommandIntake(app, producer, topics.rejected, unseal=unseal)
    runner = ConsumerRunner(
        kafka_wiring.consumer(
            bootstrap_servers,
            INTAKE_GROUP,
            "saksflyt-intake",
            security=kafka_wiring.security(settings),
            member=kafka_wiring.membership(settings),
        ),
        [topics.commands],
        intake,
        DeadLetters(producer, topics.commands_dlq, INTAKE_GROUP, dead_letter_sealer(keys)),
        telemetry=TELEMETRY,
    )
    checks = {
        "event_store": app.recorder.max_notification_id,
        "kafka": _kafka_check(bootstrap_servers),
    }
    settle_collector()
    try:
        with ops_server(settings, checks):
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
    store = projection_store(settings)  # durable: see run_projector
    writer = ProjectionWriter(store)
    if not settings.kafka:
        InProcessDelivery(app, [tally, writer], position=writer.position()).deliver()
        store.db.close()
        return "in-process from the notification log", tally
    topics = Topics(settings.topic_prefix)
    ensure_topics(settings.kafka, topics)
    producer = kafka_wiring.producer(
        settings.kafka, "saksflyt-demo", security=kafka_wiring.security(settings)
    )
    relay = Relay(
        app, producer, topics.events, kafka_wiring.relay_position(settings, topics.events)
    )
    stop = threading.Event()
    if relay.position.acquire(stop):
        relay.catch_up()
        relay.position.release()
    group = f"saksflyt-demo-{uuid4().hex[:8]}"
    runner = ConsumerRunner(
        kafka_wiring.consumer(
            settings.kafka, group, "saksflyt-demo", security=kafka_wiring.security(settings)
        ),
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
    # Commits wait for the disk (once a batch, up to 2,000 events). From Kafka the position is
    # the group's committed offsets, outside this database: a commit lost to a database crash
    # after its offsets were committed was never applied again (the fault campaign found a case's
    # last event missing from case_overview after PostgreSQL restarted). In-process too: a lost
    # batch re-applied after a restart is dropped where a later event of its case got in first.
    store = projection_store(settings)
    writer = ProjectionWriter(store, batch_size=PROJECTION_BATCH, telemetry=TELEMETRY)
    # the probe's own connection: a read on the writer's would open a transaction there that
    # its later writes only nest in (savepoints), never committed
    probe = projection_database(settings, autocommit=True)
    checks: dict[str, Check] = {"projections": lambda: queries.status(probe)}
    refresher = GaugeRefresher(
        lambda: projection_database(settings), settings.gauge_refresh_seconds
    ).start()
    settle_collector()
    try:
        with ops_server(settings, checks):
            _feed_projections(settings, writer, stop, idle_s)
    finally:
        refresher.close()
        probe.close()
        store.db.close()


def projection_handler(writer: ProjectionWriter) -> KafkaEventHandler:
    """What ``saksflyt project`` hands each record of the events topic to: the read models keep
    ids as text, so the records' ids are decoded as text."""
    return KafkaEventHandler([writer], AvroCodec(ids_as_text=True))


def _feed_projections(
    settings: Settings, writer: ProjectionWriter, stop: threading.Event, idle_s: float
) -> None:
    if settings.kafka:
        topics = Topics(settings.topic_prefix)
        producer = kafka_wiring.producer(
            settings.kafka, "saksflyt-projections", security=kafka_wiring.security(settings)
        )
        runner = ConsumerRunner(
            kafka_wiring.consumer(
                settings.kafka,
                PROJECTION_GROUP,
                "saksflyt-projections",
                security=kafka_wiring.security(settings),
                member=kafka_wiring.membership(settings),
                max_poll_records=writer.batch_size,  # a poll is one transaction
            ),
            [topics.events],
            projection_handler(writer),
            DeadLetters(producer, topics.events_dlq, PROJECTION_GROUP),
            telemetry=TELEMETRY,
        )
        runner.run(stop)
        producer.close()
        return
    app = bootstrap(settings)
    delivery = InProcessDelivery(app, [writer], position=writer.position())
    while not stop.is_set():
        if delivery.deliver() == 0:
            stop.wait(idle_s)
    app.close()
