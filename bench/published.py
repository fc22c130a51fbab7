"""A synthetic month in a SQLite event store, and a relay ready to publish it (for the benches)."""

from __future__ import annotations

import threading
from pathlib import Path

from consumers.relay import ProcessEncoding, Relay
from consumers.topics import Topics
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, open_casework
from saksflyt.demo.simulation import run_demo
from saksflyt.settings import Settings


def demo_relay(bootstrap_servers: str, topics: Topics, db_path: Path, applications: int) -> Relay:
    """The relay holds its lock and has published nothing yet; it encodes as ``saksflyt relay``
    does by default (``SAKSFLYT_RELAY_ENCODERS`` processes; close it when done)."""
    settings = Settings(
        event_store="sqlite", sqlite_path=db_path, key_ring=db_path.parent / "keyring.json"
    )
    app = bootstrap(settings)
    run_demo(app, applications)
    position = kafka_wiring.relay_position(settings, topics.events)
    encoding = ProcessEncoding(open_casework, settings, settings.relay_encoders)
    producer = kafka_wiring.producer(bootstrap_servers, bulk=True)
    relay = Relay(app, producer, topics.events, position, encoding=encoding)
    relay.position.acquire(threading.Event())
    return relay
