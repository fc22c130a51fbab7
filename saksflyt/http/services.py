"""What the HTTP handlers share: the application, the read models, and delivery between them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from fastapi import Request

from consumers.delivery import InProcessDelivery
from domain.casework import Casework
from projections.store import ProjectionWriter
from saksflyt.access.log import AccessLog
from saksflyt.bootstrap import bootstrap, projection_database, projection_store
from saksflyt.http.documents import DocumentStore
from saksflyt.http.idempotency import IdempotencyKeys
from saksflyt.ops.metrics import TELEMETRY, GaugeRefresher
from saksflyt.privacy.vault import KeyVault
from saksflyt.records import records_database
from saksflyt.settings import Settings


class Services:
    """What the request handlers share: the application, the read models, delivery between them."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock  # stamps when each command arrived
        self.app: Casework = bootstrap(settings)
        self.store = projection_store(settings)
        self.idempotency = IdempotencyKeys(
            lambda: records_database(settings), stale_s=settings.idempotency_stale_seconds
        )
        self.access_log = AccessLog(lambda: records_database(settings), clock)
        assert isinstance(self.app.vault, KeyVault)
        self.vault: KeyVault = self.app.vault
        self.documents = DocumentStore(settings.document_dir, self.vault)
        self.documents.sweep(None)  # uploads a crash left half-finished
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
