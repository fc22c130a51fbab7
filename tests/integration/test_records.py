"""The system of record sits beside the event store, not in the read models: wipe and rebuild the
read models and every record is still there; a store of the older layout has its records moved
on first open — on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from projections.tables import READ_MODELS
from saksflyt.access import log
from saksflyt.access.log import Access, AccessLog
from saksflyt.archive.numbers import Numbers
from saksflyt.bootstrap import projection_database, projection_store
from saksflyt.cli import main
from saksflyt.http.app import create_app
from saksflyt.records import MOVED, has_table, records_database
from saksflyt.settings import Settings
from tests.api_helpers import synthetic_form
from tests.stores import export_settings, sqlite_settings, store_settings
from tests.tokens import headers

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _records(settings: Settings) -> dict[str, int]:
    db = records_database(settings)
    try:
        return {t.name: len(db.rows(f"SELECT 1 FROM {t.name}")) for t in MOVED}
    finally:
        db.close()


def _wipe_read_models(settings: Settings) -> None:
    """What an operator may do to a rebuildable store: the file gone, or its tables dropped."""
    if settings.event_store == "sqlite":
        settings.projection_sqlite_path.unlink()
        return
    db = projection_database(settings)  # the same schema as the events: its read-model rows
    try:
        for table in READ_MODELS:
            db.execute(f"DELETE FROM {table.name}")
    finally:
        db.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_wiping_and_rebuilding_the_read_models_keeps_every_record(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = store_settings(kind, tmp_path, request)
    key = str(uuid4())
    with TestClient(create_app(settings)) as client:
        case_id = _submit(client, key).json()["case_id"]  # an idempotency answer
        client.get(f"/applications/{case_id}", headers=headers(settings))  # an access-log row
    numbers = Numbers(records_database(settings))
    reference = numbers.case_reference(uuid4(), "0301", 2026)  # an archive number
    numbers.db.close()
    before = _records(settings)
    assert before["access_log"] and before["http_idempotency"] and before["noark_numbers"]

    _wipe_read_models(settings)
    export_settings(settings, monkeypatch)
    assert main(["rebuild"]) == 0
    assert _records(settings) == before
    db = records_database(settings)
    assert log.verify(db)[1] == []
    assert Numbers(db).case_reference(uuid4(), "0301", 2026) != reference  # never given twice
    db.close()
    with TestClient(create_app(settings)) as client:  # the resend still meets its answer
        again = _submit(client, key)
        assert again.json()["case_id"] == case_id and again.json()["duplicate"]


def _submit(client: TestClient, key: str) -> Any:
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": synthetic_form()}
    sent = {**headers(client.app.state.services.settings), "Idempotency-Key": key}  # type: ignore[attr-defined]
    answer = client.post("/applications", json=body, headers=sent)
    assert answer.status_code == 201, answer.text
    return answer


def test_an_older_stores_records_are_moved_out_of_the_read_models(tmp_path: Path) -> None:
    """The layout before: access log, numbers, idempotency answers and the print queue in the
    read-model file. The first open moves them beside the events, chain and all, and drops them
    from the read models."""
    settings = sqlite_settings(tmp_path)
    projection_store(settings).db.close()  # its migrations made the tables there, as before
    old = projection_database(settings)
    AccessLog(lambda: closing(projection_database(settings)), lambda: T0).record(
        Access("sb-1", "caseworker", uuid4(), "ledsagerbevis", "0301", "case", "saksbehandling")
    )
    reference = Numbers(old).case_reference(uuid4(), "0301", 2026)
    old.close()

    moved = _records(settings)
    assert moved["access_log"] == 1 and moved["noark_numbers"] == 1
    reads = projection_database(settings)
    assert not any(has_table(reads, t.name) for t in MOVED)
    reads.close()
    db = records_database(settings)
    assert log.verify(db) == (1, [])
    assert Numbers(db).case_reference(uuid4(), "0301", 2026) != reference  # its number is kept
    db.close()


def test_records_first_then_read_models_in_one_postgresql_schema(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The notices (records first) started before the API (read models first) on one schema:
    neither creates a table the other's migrations make (the compose file met this)."""
    settings = store_settings("postgres", tmp_path, request)
    records_database(settings).close()
    projection_store(settings).db.close()
    db = records_database(settings)
    assert has_table(db, "projection_position") and has_table(db, "access_log")
    db.close()
