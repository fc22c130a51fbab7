"""The relay on PostgreSQL wakes when events are stored (LISTEN on the event store's NOTIFY
channel) instead of at its next poll: with a poll interval of half a minute, a new case still
reaches Kafka within seconds. (The issue measured a ~150 ms latency floor from the 0.2 s poll.)"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from consumers.relay import Relay
from consumers.topics import Topics
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from saksflyt.processes import stored_events_notified
from tests.send import start
from tests.stores import postgres_settings, sqlite_settings


def test_the_relay_publishes_as_soon_as_postgres_says_events_were_stored(
    postgres_url: str, postgres_schema: str, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    app = bootstrap(settings)
    producer = kafka_wiring.producer(kafka_bootstrap, "test-relay-wakeup")
    relay = Relay(
        app, producer, topics.events, kafka_wiring.relay_position(settings, topics.events)
    )
    stop = threading.Event()
    try:
        with stored_events_notified(settings, app) as wakeup:
            assert wakeup is not None
            running = threading.Thread(
                target=relay.run, args=(stop,), kwargs={"idle_s": 30.0, "wakeup": wakeup}
            )
            running.start()
            time.sleep(1.0)  # the relay has the lock, found nothing, and waits
            stored = time.monotonic()
            start(app, "horingssvar", datetime.now(UTC))
            while relay.published == 0:
                assert time.monotonic() - stored < 5, "the relay slept through the NOTIFY"
                time.sleep(0.01)
            stop.set()
            wakeup.set()
            running.join(10)
    finally:
        producer.close()
        app.close()


def test_sqlite_has_no_notifications_and_the_relay_polls(tmp_path: Path) -> None:
    app = bootstrap(sqlite_settings(tmp_path))
    with stored_events_notified(sqlite_settings(tmp_path), app) as wakeup:
        assert wakeup is None
    app.close()
