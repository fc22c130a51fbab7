"""Wiring: build the application from settings. Connections are made here, never at import."""

from __future__ import annotations

from domain.casework import Casework
from projections.database import Database
from projections.store import ProjectionStore
from saksflyt.metrics import observe_events
from saksflyt.settings import Settings


def bootstrap(settings: Settings | None = None) -> Casework:
    settings = settings or Settings.from_env()
    app = Casework(env=settings.eventsourcing_env(), catalogue=settings.catalogue())
    app.observers.append(observe_events)
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
