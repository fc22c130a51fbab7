"""The Casework application on real event stores: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import random
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain import commands as cmd
from domain.case_store import SNAPSHOT_INTERVAL
from domain.casework import Casework
from domain.errors import CaseNotFound, ConcurrentUpdate, InvalidTransition
from domain.lifecycle import Outcome, ReceiptChannel, Status
from domain.values import Decision
from saksflyt.bootstrap import bootstrap
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.recorders import PostgresGroupRecorder
from saksflyt.settings import Settings
from tests.builders import REASONS
from tests.send import building_draft, send, start, submit_building_case
from tests.stores import postgres_settings

DAY = timedelta(days=1)
GRANTED = Decision(Outcome.GRANTED, "pbl § 20-4", "saksbehandler")


def test_a_case_survives_a_restart_with_its_whole_history(
    store_settings: Settings, rng: random.Random, t0: datetime
) -> None:
    app = bootstrap(store_settings)
    case_id, _ = submit_building_case(app, rng, t0, objection=True)
    receipt = {"channel": ReceiptChannel.EMAIL, "message_id": "msg-1"}
    send(app, cmd.SendReceipt, case_id, t0 + 16 * DAY, **receipt)
    decision = Decision(Outcome.PARTLY_GRANTED, "pbl § 20-4", "saksbehandler", **REASONS)
    send(app, cmd.Decide, case_id, t0 + 20 * DAY, decision=decision)
    app.close()

    reopened = bootstrap(store_settings)
    case = reopened.get_case(case_id)
    assert case.status is Status.DECIDED and case.has_objections
    assert case.decision and case.decision["outcome"] == "partly-granted"
    assert [type(e).__name__ for e in reopened.history(case_id)] == [
        "Created",
        "DraftSaved",
        "AttachmentAdded",
        "AttachmentAdded",
        "NeighbourNoticeSent",
        "NeighbourCommentReceived",
        "Submitted",
        "ReceiptSent",
        "DecisionMade",
    ]
    assert [p["navn"] for p in case.neighbour_parties] == ["Kari Nabo"]
    reopened.close()


def test_a_refused_step_stores_nothing(
    casework: Casework, rng: random.Random, t0: datetime
) -> None:
    case_id, form = building_draft(casework, rng, t0)
    before = casework.recorder.max_notification_id()
    with pytest.raises(InvalidTransition, match="must be notified before the application"):
        send(casework, cmd.SubmitApplication, case_id, t0 + 2 * DAY, form=form)
    assert casework.recorder.max_notification_id() == before
    assert casework.get_case(case_id).status is Status.DRAFT


def test_a_stored_case_s_scope_is_known_without_reading_it_and_a_refused_one_s_is_not(
    casework: Casework, t0: datetime
) -> None:
    """Access control asks every request's case scope; a case this process stored is answered
    from memory (no read, no hop to a worker thread), one it refused is not remembered."""
    case_id = start(casework, "horingssvar", t0)
    assert casework.known_scope(case_id) == ("horingssvar", "0301")

    twin = cmd.StartApplication(
        command_id=uuid4(), case_id=case_id, received_at=t0, service="avfallsbeholder",
        kommunenummer="0301",
    )  # fmt: skip
    assert casework.handle(twin).verdict is cmd.Verdict.REJECTED  # the case exists
    assert casework.known_scope(case_id) == ("horingssvar", "0301")
    assert casework.known_scope(uuid4()) is None


def test_two_writers_racing_on_one_case_one_gets_a_concurrency_error(
    store_settings: Settings, rng: random.Random, t0: datetime
) -> None:
    first, second = bootstrap(store_settings), bootstrap(store_settings)
    case_id, _ = submit_building_case(first, rng, t0)
    mine, theirs = first.get_case(case_id), second.get_case(case_id)
    mine.send_receipt(ReceiptChannel.EMAIL, "mine", t0 + DAY)
    theirs.withdraw("trekker søknaden", t0 + DAY)
    first.save(mine)
    with pytest.raises(ConcurrentUpdate, match=str(case_id)):
        second.save(theirs)
    assert [type(e).__name__ for e in second.history(case_id)][-1] == "ReceiptSent"
    first.close()
    second.close()


def test_the_case_as_it_was_at_a_moment_and_at_a_version(
    casework: Casework, rng: random.Random, t0: datetime
) -> None:
    case_id, _ = submit_building_case(casework, rng, t0)
    decided_at = t0 + 3 * DAY
    send(casework, cmd.Decide, case_id, decided_at, decision=GRANTED)
    send(casework, cmd.Archive, case_id, t0 + 40 * DAY, archive_reference="0301-2026/1")

    as_decided = casework.case_as_of(case_id, decided_at)
    assert as_decided.status is Status.DECIDED and as_decided.archive_reference is None
    before_submission = casework.case_as_of(case_id, t0 + timedelta(minutes=30))
    assert before_submission.status is Status.DRAFT
    assert casework.get_case(case_id, version=1).status is Status.DRAFT
    assert casework.get_case(case_id).status is Status.ARCHIVED
    with pytest.raises(CaseNotFound):
        casework.case_as_of(case_id, t0 - DAY)


def test_snapshots_are_taken_every_50_events(casework: Casework, t0: datetime) -> None:
    case_id = start(casework, "horingssvar", t0)
    for i in range(SNAPSHOT_INTERVAL + 5):
        at = t0 + timedelta(minutes=i)
        send(casework, cmd.SaveDraft, case_id, at, form={"merknad": f"utkast {i}"})
    assert casework.snapshots is not None
    snapshots = list(casework.snapshots.get(case_id))
    assert [s.originator_version for s in snapshots] == [SNAPSHOT_INTERVAL]
    assert casework.get_case(case_id).form["merknad"] == f"utkast {SNAPSHOT_INTERVAL + 4}"
    stored = casework.snapshots.recorder.select_events(case_id)  # as the database has them
    assert stored and all(b"utkast" not in bytes(s.state) for s in stored), "sealed in snapshots"


def test_unknown_case_is_not_found(casework: Casework) -> None:
    with pytest.raises(CaseNotFound):
        casework.get_case(UUID(int=7))


def test_events_are_stored_under_their_pinned_topics(casework: Casework, t0: datetime) -> None:
    case_id = start(casework, "horingssvar", t0)
    stored = casework.recorder.select_events(case_id)
    assert [s.topic for s in stored] == ["saksflyt.application.created"]


def _raw_stored_state(settings: Settings) -> bytes:
    if settings.event_store == "sqlite":
        with sqlite3.connect(settings.sqlite_path) as conn:
            rows = conn.execute("SELECT state FROM stored_events").fetchall()
    else:
        assert settings.postgres_url and settings.postgres_schema
        with psycopg.connect(settings.postgres_url) as conn:
            rows = conn.execute(
                f'SELECT state FROM "{settings.postgres_schema}".saksflyt_events'
            ).fetchall()
    return b"".join(bytes(r[0]) for r in rows)


@pytest.mark.parametrize("encrypted", [False, True], ids=["fields-sealed", "whole-events-too"])
def test_personal_data_is_sealed_at_rest_and_whole_events_when_a_key_is_set(
    store_settings: Settings, rng: random.Random, t0: datetime, encrypted: bool
) -> None:
    key = base64.b64encode(os.urandom(32)).decode() if encrypted else None
    settings = store_settings.model_copy(update={"cipher_key": key})
    app = bootstrap(settings)
    case_id, form = submit_building_case(app, rng, t0)
    fnr = form["tiltakshaver"]["fodselsnummer"].encode()
    raw = _raw_stored_state(settings)
    assert fnr not in raw and form["adresse"].encode() not in raw
    assert (b"melding-om-tiltak" in raw) is not encrypted  # non-personal facts stay readable
    assert app.get_case(case_id).form["tiltakshaver"]["fodselsnummer"] == fnr.decode()
    app.close()


STARTUP = """
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.settings import Settings

settings = Settings()
bootstrap(settings).close()
projection_store(settings).db.close()
kafka_wiring.relay_position(settings, "saksflyt.events").release()
"""


@pytest.mark.slow
def test_processes_starting_together_on_an_empty_database_all_come_up(
    postgres_url: str, tmp_path: Path
) -> None:
    ring = tmp_path / "keyring.json"
    FileKeyRing.create(ring)
    for _ in range(3):  # a race: give it a few chances to show
        schema = f"start_{uuid4().hex[:10]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        env = {
            **os.environ,
            "SAKSFLYT_EVENT_STORE": "postgres",
            "SAKSFLYT_POSTGRES_URL": postgres_url,
            "SAKSFLYT_POSTGRES_SCHEMA": schema,
            "SAKSFLYT_KEY_RING": str(ring),
        }
        started = [
            subprocess.Popen(
                [sys.executable, "-c", STARTUP], env=env, stderr=subprocess.PIPE, text=True
            )
            for _ in range(6)
        ]
        for process in started:
            _, errors = process.communicate(timeout=60)
            assert process.returncode == 0, errors.strip().splitlines()[-1:]
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_reading_cases_leaves_the_connections_prepared_statements_alone(
    postgres_url: str, postgres_schema: str, tmp_path: Path
) -> None:
    """The group recorder's reads (a case's events, which command ids are done) run outside a
    transaction, as the library's reads do: a rolled-back one made psycopg deallocate every
    statement the connection had prepared, so the writes after it were parsed afresh."""
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    one_connection = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"}
    env = Environment("saksflyt", {**settings.eventsourcing_env(), **one_connection})
    factory = InfrastructureFactory.construct(env)
    recorder = factory.process_recorder()
    assert isinstance(recorder, PostgresGroupRecorder)
    recorder.create_table()
    datastore = recorder.datastore
    with datastore.get_connection() as conn:
        conn.execute("SELECT 1 AS one", prepare=True)

    assert recorder.events_of([uuid4()]) == {}
    assert recorder.tracked(["command:nothing"]) == set()

    with datastore.get_connection() as conn:
        row = conn.execute("SELECT count(*) AS prepared FROM pg_prepared_statements").fetchone()
    assert row is not None and row["prepared"] >= 1
    factory.close()
