"""Read models on real databases: live delivery equals a rebuild from scratch, row for row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from consumers.delivery import InProcessDelivery
from domain.casework import Casework
from projections.changes import DeleteWhere, Increment, Upsert
from projections.store import ProjectionWriter
from projections.tables import READ_MODELS
from saksflyt import rebuild
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo.simulation import MONTH_START, run_demo
from saksflyt.settings import Settings
from schemas.mapping import PublicEvent
from tests.send import start
from tests.stores import read_model_tables

pytestmark = pytest.mark.slow  # not in make test-fast

CASES = 2000
LATE_CASES = 7


class BusyStore(rebuild.StoreSource):
    """While the rebuild reads, applications keep arriving and the live projector keeps up."""

    def __init__(self, app: Casework, live: InProcessDelivery, settings: Settings) -> None:
        super().__init__(app)
        self.app, self.live, self.settings, self.reads = app, live, settings, 0
        self.live_tables: dict[str, list[dict[str, Any]]] = {}

    def read(self) -> Iterator[PublicEvent]:
        yield from super().read()
        self.reads += 1
        if self.reads == 1:  # after the fresh tables took everything, before the swap
            for _ in range(LATE_CASES):
                start(self.app, "horingssvar", MONTH_START)
            self.live.deliver()
            self.live_tables = read_model_tables(
                self.settings
            )  # what readers see just before the swap


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

    progress: list[int] = []
    source = BusyStore(app, delivery, store_settings)
    applied = rebuild.rebuild(store_settings, source, lambda done, _: progress.append(done))
    assert applied == total + LATE_CASES and progress[-1] == applied
    rebuilt = read_model_tables(store_settings)
    assert len(rebuilt["case_overview"]) == CASES + LATE_CASES
    for table in READ_MODELS:
        assert rebuilt[table.name] == source.live_tables[table.name], table.name
    live_store.db.close()
    app.close()


class NoEvents:
    """A source with nothing in it: the wrong store, or an empty topic."""

    total = 0

    def read(self) -> Iterator[PublicEvent]:
        yield from ()

    def mark(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_an_empty_rebuild_is_not_swapped_over_read_models_with_cases(
    store_settings: Settings,
) -> None:
    """The wrong store named (or none): nothing replaces the cases readers see, unless forced —
    and the check itself holds no lock the swap must wait for (PostgreSQL)."""
    app = bootstrap(store_settings)
    start(app, "horingssvar", MONTH_START)
    live = projection_store(store_settings)
    InProcessDelivery(app, [ProjectionWriter(live)]).deliver()
    live.db.close()
    app.close()
    with pytest.raises(rebuild.EmptyRebuild, match="hold 1 cases"):
        rebuild.rebuild(store_settings, NoEvents())
    assert len(read_model_tables(store_settings)["case_overview"]) == 1
    assert rebuild.rebuild(store_settings, NoEvents(), force=True) == 0
    assert read_model_tables(store_settings)["case_overview"] == []


def test_a_batch_is_a_few_statements_however_many_column_sets_it_holds(
    store_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shape of change (kind, table, columns) goes out as one statement a batch —
    PostgreSQL: one statement with an array for each column; SQLite: one ``executemany`` —
    not one per change, nor one per change of column set along the batch."""
    app = bootstrap(store_settings)
    run_demo(app, 300, seed=5)
    store = projection_store(store_settings)
    sent: list[str] = []
    db = store.db

    def counted(send: Any) -> Any:
        def sending(sql: str, params: Any = ()) -> None:
            if not sql.startswith("INSERT INTO projection_status"):  # the batch's own count
                sent.append(sql)
            send(sql, params)

        return sending

    for method in ("execute", "executemany", "execute_columns"):
        monkeypatch.setattr(db, method, counted(getattr(db, method)))
    writer = ProjectionWriter(store, batch_size=500)
    InProcessDelivery(app, [writer], batch_size=500).deliver()
    batches = -(-writer.applied // 500)
    assert sent and len(sent) <= batches * len(set(sent))  # each statement at most once per batch
    assert len(sent) < writer.applied / 20  # the demo's batches went from ~85 to ~15
    store.db.close()
    app.close()


ODD_TEXT = ["NULL", "null", "a,b", "{x}", '"quoted"', "back\\slash", "", "æøå 'x'", " ", None]


def test_any_text_and_null_reach_the_rows_as_given(store_settings: Settings) -> None:
    """Values go to PostgreSQL inside arrays (one per column, in binary): text that would need
    escaping in an array literal (NULL, commas, braces, quotes, backslashes) arrives as it was
    given, and so do nulls, a column of nothing but nulls too."""
    store = projection_store(store_settings)
    rows = [
        Upsert(
            "case_overview",
            ("case_id",),
            {"case_id": f"case-{n}", "version": n, "outcome": text, "paused_since": None},
        )
        for n, text in enumerate(ODD_TEXT)
    ]
    day = MONTH_START.date()
    counts = [
        Increment(
            "service_stats",
            {"day": day, "service": f"{n}{text}", "kommunenummer": "0301"},
            {"submitted": 2},
        )
        for n, text in enumerate(ODD_TEXT)
    ]
    with store.db.transaction():  # a batch touches each row once (the writer folds it)
        store._execute([*rows, *counts])
    with store.db.transaction():
        store._execute([DeleteWhere("case_overview", {"case_id": "case-0"}), *counts])
    found = {
        r["case_id"]: (r["version"], r["outcome"], r["paused_since"])
        for r in store.db.rows("SELECT * FROM case_overview", table="case_overview")
    }
    assert found == {f"case-{n}": (n, text, None) for n, text in enumerate(ODD_TEXT) if n}
    stats = store.db.rows("SELECT service, submitted, withdrawn FROM service_stats")
    assert sorted((r["service"], r["submitted"], r["withdrawn"]) for r in stats) == sorted(
        (f"{n}{text}", 4, 0) for n, text in enumerate(ODD_TEXT)
    )
    store.db.close()
