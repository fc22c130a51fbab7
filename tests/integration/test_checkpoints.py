"""Signed checkpoints catch what hash chains cannot: deletion. With the triggers dropped (anyone
with write access to the database), delete the newest access-log rows, a whole case, or a case's
last event: the chains that are left still verify, ``saksflyt verify`` alone exits 0, and
``saksflyt verify --checkpoints`` names what is gone — on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from consumers.topics import Topics
from domain import commands as cmd
from projections.database import Database
from saksflyt.access.log import Access, AccessLog
from saksflyt.bootstrap import (
    bootstrap,
    event_store_database,
)
from saksflyt.cli import main
from saksflyt.records import records_database
from saksflyt.settings import Settings
from tests.send import send, start
from tests.stores import export_settings, sqlite_settings, store_settings

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    where = {"checkpoint_dir": tmp_path / "cp", "checkpoint_key": tmp_path / "cp-key.pem"}
    return store_settings(kind, tmp_path, request, **where)


def _events_table(db: Database) -> str:
    if db.dialect == "sqlite":
        return "stored_events"
    rows = db.rows(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'originator_version'"
        " AND table_schema = current_schema() AND table_name NOT LIKE ?",
        ("%snapshot%",),
    )
    return str(rows[0]["table_name"])


def _drop_triggers(db: Database) -> None:
    if db.dialect == "sqlite":
        for name in ("access_log_no_update", "access_log_no_delete"):
            db.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in ("access_log_no_change", "access_log_no_truncate"):
            db.execute(f"DROP TRIGGER IF EXISTS {name} ON access_log")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_verify_with_checkpoints_names_what_was_deleted(
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _store(kind, tmp_path, request)
    app = bootstrap(settings)
    cases: list[UUID] = []
    for n in range(4):
        case = start(app, "ledsagerbevis", T0 + timedelta(minutes=n))
        saved = T0 + timedelta(minutes=n, seconds=30)
        send(app, cmd.SaveDraft, case, saved, form={"soker": {"navn": "A B"}})
        cases.append(case)
    app.close()
    reads = records_database(settings)  # the access log: beside the events
    log = AccessLog(lambda: closing(records_database(settings)), lambda: T0)
    for case in cases:
        log.record(Access("auditor-x", "caseworker", case, "ledsagerbevis", "0301", "case", "test"))
    export_settings(settings, monkeypatch)
    assert main(["checkpoint"]) == 0
    assert main(["verify", "--checkpoints"]) == 0  # nothing gone yet
    capsys.readouterr()

    events = event_store_database(settings)
    table = _events_table(events)
    whole, last = str(cases[0]), str(cases[1])
    events.execute(f"DELETE FROM {table} WHERE originator_id = ?", (_id(events, whole),))
    events.execute(
        f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = 2",
        (_id(events, last),),
    )
    _drop_triggers(reads)
    reads.execute("DELETE FROM access_log WHERE seq > 2")
    assert main(["verify"]) == 0  # every chain that is left still verifies
    capsys.readouterr()
    assert main(["verify", "--checkpoints"]) == 1
    said = capsys.readouterr().out
    assert f"GONE since the checkpoint: case {whole}: all 2 events are gone" in said
    assert f"GONE since the checkpoint: case {last}: events 2 to 2 are gone" in said
    assert "GONE since the checkpoint: access log: row 4 is gone (the newest now is 2)" in said
    assert str(cases[2]) not in said and str(cases[3]) not in said
    events.close()
    reads.close()


def test_a_forged_checkpoint_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rewriting the log to hide a deletion needs the signing key, which the database's
    administrator does not have: an edited record fails its signature."""
    where = {"checkpoint_dir": tmp_path / "cp", "checkpoint_key": tmp_path / "cp-key.pem"}
    settings = sqlite_settings(tmp_path, **where)
    app = bootstrap(settings)
    start(app, "ledsagerbevis", T0)
    app.close()
    export_settings(settings, monkeypatch)
    assert main(["checkpoint"]) == 0
    path = settings.checkpoint_dir / "checkpoints.jsonl"
    path.write_text(path.read_text().replace('"cases": 1', '"cases": 0'))
    capsys.readouterr()
    assert main(["verify", "--checkpoints"]) == 1
    assert "signature does not verify" in capsys.readouterr().err


def _id(db: Database, case: str) -> str:
    """A case id as the events table keeps it (SQLite: 32 hex digits; PostgreSQL: a uuid)."""
    return case if db.dialect == "postgres" else UUID(case).hex


def test_the_kafka_copy_names_a_cut_checkpoint_file_and_what_is_gone(
    tmp_path: Path,
    kafka_bootstrap: str,
    topics: Topics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The administrator deletes a case and then the checkpoint file with it (the file lives on
    a host they reach): the copy on saksflyt.audit.checkpoints, signed, still says how much there
    was."""
    settings = sqlite_settings(
        tmp_path,
        checkpoint_dir=tmp_path / "cp",
        checkpoint_key=tmp_path / "cp-key.pem",
        kafka=kafka_bootstrap,
        topic_prefix=topics.prefix,
    )
    app = bootstrap(settings)
    cases = [start(app, "ledsagerbevis", T0 + timedelta(minutes=n)) for n in range(3)]
    app.close()
    export_settings(settings, monkeypatch)
    assert main(["checkpoint"]) == 0
    assert topics.checkpoints in capsys.readouterr().out
    assert main(["verify", "--checkpoints"]) == 0
    assert "Kafka copy: checkpoint 1, 0 disagreements" in capsys.readouterr().out

    events = event_store_database(settings)
    events.execute(
        "DELETE FROM stored_events WHERE originator_id = ?", (_id(events, str(cases[0])),)
    )
    events.close()
    for path in (tmp_path / "cp").iterdir():
        path.unlink()
    assert main(["verify", "--checkpoints"]) == 1
    said = capsys.readouterr().out
    assert "checkpoint file holds none, Kafka holds checkpoint 1: it was cut" in said
    assert "GONE since the Kafka copy: 1 of 3 cases are gone" in said
    assert "GONE since the Kafka copy: 1 of 3 events are gone" in said
