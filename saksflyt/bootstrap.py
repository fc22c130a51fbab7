"""Wiring: build the application from settings. Connections are made here, never at import."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg

from domain.casework import Casework
from domain.lifecycle import Status
from projections.database import Database
from projections.store import ProjectionStore
from saksflyt.ops.metrics import TELEMETRY
from saksflyt.privacy.keyring import FileKeyRing, KeyRingMissing
from saksflyt.privacy.vault import KeyVault
from saksflyt.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """While held, no other process creates the event store's tables in the same schema.

    Processes starting together on an empty PostgreSQL database would otherwise race in
    ``CREATE TABLE IF NOT EXISTS`` (and lose with a duplicate-key error). SQLite needs nothing.
    """
    if settings.event_store != "postgres" or not settings.postgres_url:
        yield
        return
    name = f"saksflyt-schema/{settings.postgres_schema or 'public'}"
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))


def bootstrap(settings: Settings | None = None) -> Casework:
    """The application, sealing personal data with the key ring; finishes interrupted erasures."""
    settings = settings or Settings.from_env()
    app = open_casework(settings)
    app.observers.append(TELEMETRY)
    vault = app.vault
    assert isinstance(vault, KeyVault)
    finished = vault.finish_pending(lambda case_id: app.get_case(case_id).status is Status.SHREDDED)
    if finished:
        vault.compact()
        log.info("finished %d interrupted erasures", finished)
    return app


def open_casework(settings: Settings) -> Casework:
    """The application over the store, nothing more: what a helper process of one that
    bootstrapped it opens (the relay's encoders read with it and write nothing)."""
    with schema_lock(settings):
        return Casework(
            env=settings.eventsourcing_env(),
            catalogue=settings.catalogue(),
            vault=key_vault(settings),
        )


def key_ring(settings: Settings) -> FileKeyRing:
    """The key ring; the embedded store makes one on its first run (no case keys yet), a server
    store never does: a mistyped SAKSFLYT_KEY_RING must not put an empty ring beside cases
    sealed with another one."""
    try:
        return FileKeyRing.load(settings.key_ring)
    except KeyRingMissing:
        if settings.event_store != "sqlite":
            raise
        if _holds_case_keys(settings.sqlite_path):
            raise KeyRingMissing(
                f"no key ring at {settings.key_ring}, but {settings.sqlite_path} holds cases "
                "sealed with one: point SAKSFLYT_KEY_RING at it (a new one would open none)"
            ) from None
        log.info("made a new key ring at %s (keep it safe: it opens every case)", settings.key_ring)
        return FileKeyRing.create(settings.key_ring)


def _holds_case_keys(path: Path) -> bool:
    """Whether the SQLite store there has sealed a case (so its key ring exists somewhere)."""
    if not path.exists():
        return False
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'saksflyt_case_keys'"
        ).fetchone()
        return bool(found and db.execute("SELECT 1 FROM saksflyt_case_keys LIMIT 1").fetchone())


def key_vault(settings: Settings) -> KeyVault:
    return KeyVault(
        key_ring(settings), lambda: event_store_database(settings), settings.document_dir
    )


def event_store_database(settings: Settings) -> Database:
    """A connection of our own to the event store's database (for the case keys)."""
    if settings.event_store == "postgres":
        assert settings.postgres_url is not None
        # A data key commits durably before the events sealed with it. (It once committed
        # asynchronously, trusting the events' commit to flush it: but when PostgreSQL restarts
        # between the two, the key's commit is lost, this process still holds the key, and its
        # retried events are sealed with a key no one else can find. The fault campaign found it.)
        return Database.postgres(settings.postgres_url, settings.postgres_schema, autocommit=True)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    # A new data key is written just before the case's first events; the events' own commit
    # (synchronous=FULL, same WAL file) makes it durable, so this connection need not wait.
    return Database.sqlite(settings.sqlite_path, durable=False)


def projection_database(settings: Settings, autocommit: bool = True) -> Database:
    """The read models' database. Its commits wait for the disk: a read-model commit a crash
    takes away after its position moved on is never applied again (see
    ``processes.run_projector``)."""
    kind = settings.projection_store or settings.event_store
    if kind == "postgres":
        if not settings.postgres_url:
            raise ValueError("PostgreSQL read models need SAKSFLYT_POSTGRES_URL")
        return Database.postgres(settings.postgres_url, settings.postgres_schema, autocommit)
    return Database.sqlite(settings.projection_sqlite_path)


def projection_store(settings: Settings, suffix: str = "") -> ProjectionStore:
    """The read-model store, migrated to the current schema version. Its commits wait for the
    disk (see ``processes.run_projector``)."""
    store = ProjectionStore(projection_database(settings), suffix)
    store.migrate()
    return store
