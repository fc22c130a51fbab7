"""Wiring: build the application from settings. Connections are made here, never at import."""

from __future__ import annotations

from domain.casework import Casework
from saksflyt.settings import Settings


def bootstrap(settings: Settings | None = None) -> Casework:
    settings = settings or Settings.from_env()
    return Casework(env=settings.eventsourcing_env(), catalogue=settings.catalogue())
