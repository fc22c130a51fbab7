"""Read models on real databases: live delivery equals a rebuild from scratch, row for row."""

from __future__ import annotations

from typing import Any

from consumers.delivery import InProcessDelivery, ProjectionWriter
from projections.tables import READ_MODELS
from saksflyt import rebuild
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import run_demo
from saksflyt.settings import Settings

CASES = 2000


def _snapshot(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    store = projection_store(settings)
    tables = {}
    for table in READ_MODELS:
        order = ", ".join(table.key)
        tables[table.name] = store.db.rows(
            f"SELECT * FROM {table.name} ORDER BY {order}", table=table.name
        )
    store.db.close()
    return tables


def test_a_rebuild_from_scratch_equals_the_live_read_models(store_settings: Settings) -> None:
    app = bootstrap(store_settings)
    result = run_demo(app, CASES, seed=11)
    services = {app.get_case(c).service for c in result.case_ids}
    assert len(services) == 10  # every service is in the mix

    live_store = projection_store(store_settings)
    writer = ProjectionWriter(live_store, batch_size=37)  # odd batches, like a live consumer's
    delivery = InProcessDelivery(app, [writer], batch_size=101)
    total = delivery.deliver()
    delivery.position = 0
    delivery.deliver()  # everything again: at-least-once upstream must not count twice
    assert (writer.applied, writer.duplicates) == (total, total)
    live = _snapshot(store_settings)
    assert len(live["case_overview"]) == CASES

    progress: list[int] = []
    count, events = rebuild.events_from_store(app)
    applied = rebuild.rebuild(store_settings, count, events, lambda done, _: progress.append(done))
    assert applied == total and progress[-1] == total
    rebuilt = _snapshot(store_settings)
    for table in READ_MODELS:
        assert rebuilt[table.name] == live[table.name], table.name
    live_store.db.close()
    app.close()
