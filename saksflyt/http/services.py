"""What the HTTP handlers share: the application, the read models, and running one command."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import Request

from consumers.delivery import InProcessDelivery
from domain import commands as cmd
from domain.casework import Casework
from projections.writer import ProjectionWriter
from saksflyt.bootstrap import bootstrap, projection_database, projection_store
from saksflyt.ops.metrics import TELEMETRY, GaugeRefresher
from saksflyt.settings import Settings


class Services:
    """What the request handlers share: the application, the read models, delivery between them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: Casework = bootstrap(settings)
        self.store = projection_store(settings)
        self.lock = threading.Lock()
        writer = ProjectionWriter(self.store, telemetry=TELEMETRY)
        self.delivery = InProcessDelivery(self.app, [writer], position=writer.position())
        self.deliver()
        self.refresher = GaugeRefresher(
            lambda: projection_database(settings), settings.gauge_refresh_seconds
        ).start()

    def deliver(self) -> None:
        """Embedded mode: bring the read models up to date (read-your-writes for the caller)."""
        if not self.settings.kafka:
            with self.lock:
                self.delivery.deliver()

    def close(self) -> None:
        self.refresher.close()
        self.store.db.close()
        self.app.close()


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def run(request: Request, command: cmd.Command) -> dict[str, Any]:
    """Hand the command to ``Casework.handle``; a refusal is raised for the error handlers."""
    s = services(request)
    handled = s.app.handle(command)
    if handled.refusal is not None:
        raise handled.refusal  # the app's error handlers answer 404/409/422
    s.deliver()
    return {
        "case_id": str(command.case_id),
        "command_id": str(command.command_id),
        "status": handled.status,
        "version": handled.version,
        "duplicate": handled.verdict is cmd.Verdict.DUPLICATE,
    }


def command_ids(case_id: UUID | None, key: UUID | None, at: datetime | None) -> dict[str, Any]:
    return {
        "command_id": key or uuid4(),
        "case_id": case_id or uuid4(),
        "issued_at": at or datetime.now(UTC),
    }
