"""What the periodic jobs share (``retention run``, ``drafts expire``, ``clocks run``): the event
store with read models brought up to date, and a step applied to a case at most once per version
of it, whoever else runs the same job at the same time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid5

from domain import commands as cmd
from domain.casework import Casework
from projections.store import ProjectionStore
from saksflyt.archive.retention import catch_up
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.settings import Settings

log = logging.getLogger(__name__)
VERDICTS = {cmd.Verdict.DUPLICATE: "duplicate", cmd.Verdict.REJECTED: "refused"}


@contextmanager
def caught_up(settings: Settings) -> Iterator[tuple[Casework, ProjectionStore]]:
    """The case store and the read models; without Kafka the read models are first brought up
    to the event store here (with Kafka the projector keeps them)."""
    app, store = bootstrap(settings), projection_store(settings)
    try:
        if not settings.kafka:
            catch_up(app, store)
        yield app, store
    finally:
        store.db.close()
        app.close()


def once_per_version(
    app: Casework,
    case_id: UUID,
    command: type[cmd.Command],
    namespace: UUID,
    done: str,
    **fields: Any,
) -> str:
    """Apply ``command`` to the case as it is now; its id comes from the case and its version,
    so a repeated or concurrent run answers ``duplicate`` and a case changed since gets a new
    chance. Returns ``done`` when applied, else ``duplicate`` or ``refused``."""
    version = app.get_case(case_id).version
    handled = app.handle(
        command(command_id=uuid5(namespace, f"{case_id}/{version}"), case_id=case_id, **fields)
    )
    outcome = VERDICTS.get(handled.verdict, done)
    log.info(command.__name__, extra={"case_id": str(case_id), "outcome": outcome})
    return outcome
