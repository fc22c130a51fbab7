"""What the HTTP handlers share: the application, the read models, and running one command."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import Request

from consumers.delivery import InProcessDelivery, ProjectionWriter
from domain import commands as cmd
from domain.casework import Casework
from domain.errors import DomainError
from saksflyt.bootstrap import bootstrap, projection_database, projection_store
from saksflyt.metrics import TELEMETRY, GaugeRefresher
from saksflyt.settings import Settings


class Services:
    """What the request handlers share: the application, the read models, delivery between them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: Casework = bootstrap(settings)
        self.store = projection_store(settings)
        self.lock = threading.Lock()
        writer = ProjectionWriter(self.store, telemetry=TELEMETRY)
        self.delivery = InProcessDelivery(self.app, [writer])
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
    """Execute once per command id; report what the case looks like afterwards."""
    s = services(request)
    command_type = type(command).__name__
    if s.app.has_processed(command.command_id):
        TELEMETRY.command(command_type, "duplicate")
        return {
            "case_id": str(command.case_id),
            "command_id": str(command.command_id),
            "duplicate": True,
        }
    try:
        with s.app.command(command.command_id):
            cmd.execute(command, s.app)
    except DomainError:
        TELEMETRY.command(command_type, "rejected")
        raise  # the app's error handlers answer 404/409/422
    TELEMETRY.command(command_type, "accepted")
    s.deliver()
    case = s.app.get_case(command.case_id)
    return {
        "case_id": str(case.id),
        "command_id": str(command.command_id),
        "status": case.status.value,
        "version": case.version,
    }


def command_ids(case_id: UUID | None, key: UUID | None, at: datetime | None) -> dict[str, Any]:
    return {
        "command_id": key or uuid4(),
        "case_id": case_id or uuid4(),
        "issued_at": at or datetime.now(UTC),
    }
