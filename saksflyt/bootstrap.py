"""Wiring: build the application from settings. Connections are made here, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from domain.casework import Casework
from projections.database import Database
from projections.store import ProjectionStore
from saksflyt.ops.metrics import TELEMETRY
from saksflyt.settings import Settings


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
    settings = settings or Settings.from_env()
    with schema_lock(settings):
        app = Casework(env=settings.eventsourcing_env(), catalogue=settings.catalogue())
    app.observers.append(TELEMETRY)
    return app


def projection_database(settings: Settings) -> Database:
    kind = settings.projection_store or settings.event_store
    if kind == "postgres":
        if not settings.postgres_url:
            raise ValueError("PostgreSQL read models need SAKSFLYT_POSTGRES_URL")
        return Database.postgres(settings.postgres_url, settings.postgres_schema)
    return Database.sqlite(settings.projection_sqlite_path)


def projection_store(settings: Settings, suffix: str = "") -> ProjectionStore:
    """The read-model store, migrated to the current schema version."""
    store = ProjectionStore(projection_database(settings), settings.pseudonym_key.encode(), suffix)
    store.migrate()
    return store
