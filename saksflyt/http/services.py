"""What the HTTP handlers share: the application, the read models, and delivery between them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from fastapi import Request

from consumers.delivery import CatchUp, InProcessDelivery
from domain.casework import Casework
from projections.queries import EVERYTHING, Scope
from projections.store import ProjectionWriter
from saksflyt.access.log import AccessLog
from saksflyt.bootstrap import bootstrap, projection_database, projection_store
from saksflyt.http.documents import DocumentStore
from saksflyt.http.idempotency import IdempotencyKeys
from saksflyt.http.problems import ApiProblem
from saksflyt.ops.metrics import TELEMETRY, GaugeRefresher
from saksflyt.privacy.vault import KeyVault
from saksflyt.records import RecordsPool
from saksflyt.settings import Settings


class Services:
    """What the request handlers share: the application, the read models, delivery between them."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock  # stamps when each command arrived
        self.app: Casework = bootstrap(settings)
        self.store = projection_store(settings)
        self.records = RecordsPool(settings)
        # a claim or answer a crash loses is recovered: command ids derive from the key, and the
        # commands' tracking records answer a resend (duplicate, or refused-when-first-sent)
        self.answers = RecordsPool(settings, durable=False)
        self.idempotency = IdempotencyKeys(
            self.answers.connection, stale_s=settings.idempotency_stale_seconds
        )
        self.access_log = AccessLog(self.records.connection, clock)
        assert isinstance(self.app.vault, KeyVault)
        self.vault: KeyVault = self.app.vault
        self.documents = DocumentStore(settings.document_dir, self.vault)
        self.documents.sweep(None)  # uploads a crash left half-finished
        self.catch_up: CatchUp | None = None  # with Kafka, the projector keeps the read models
        if not settings.kafka:  # a connection of its own: readers see only what it committed
            self.writer_store = projection_store(settings)  # durable, as saksflyt project's
            writer = ProjectionWriter(self.writer_store, telemetry=TELEMETRY)
            delivery = InProcessDelivery(self.app, [writer], position=writer.position())
            delivery.deliver()  # up to date before the first request
            self.catch_up = CatchUp(delivery).start()
        self.refresher = GaugeRefresher(
            lambda: projection_database(settings), settings.gauge_refresh_seconds
        ).start()

    def committed(self) -> None:
        """A command was stored: in-process delivery takes it to the read models beside us."""
        if self.catch_up is not None:
            self.catch_up.wake()

    def read_models_current(
        self, wait_for: tuple[UUID, int] | None = None, scope: Scope = EVERYTHING
    ) -> None:
        """Before a read of the read models. In-process delivery: they show every event committed
        before the read arrived (the read waits for the delivery thread, up to
        ``read_wait_seconds``, else 503). ``wait_for`` (a case, a version its command answered
        with; either mode): the case's row shows that version, else 425 — with Kafka between
        them the projector may be a moment behind, and the client asks again after Retry-After.
        A case outside the caller's ``scope`` is never shown: 425 as for one that does not
        exist, not an answer that tells another municipality's case exists."""
        retry = {"Retry-After": "1"}
        if self.catch_up is not None:
            newest = self.catch_up.delivery.events.head()
            if not self.catch_up.reached(newest, self.settings.read_wait_seconds):
                why = f": {type(self.catch_up.failure).__name__}" if self.catch_up.failure else ""
                raise ApiProblem(
                    503, "read-models-behind", f"the read models are behind the cases{why}", retry
                )
        if wait_for is not None:
            case_id, version = wait_for
            scoped, params = scope.clauses()
            rows = self.store.db.rows(
                f"SELECT version FROM case_overview WHERE {' AND '.join(['case_id = ?', *scoped])}",
                (str(case_id), *params),
            )
            if not rows or int(rows[0]["version"]) < version:
                raise ApiProblem(
                    425,
                    "version-not-yet-shown",
                    f"the read models do not show version {version} of that case yet",
                    retry,
                )

    def close(self) -> None:
        if self.catch_up is not None:
            self.catch_up.close()
            self.writer_store.db.close()
        self.refresher.close()
        self.records.close()
        self.answers.close()
        self.store.db.close()
        self.app.close()


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
