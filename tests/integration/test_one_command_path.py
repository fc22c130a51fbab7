"""One way in for a command: HTTP, Kafka and the demo all go through ``Casework.handle``.

- Requests served at the same time never record each other's command ids (the id travels as an
  argument, not on the shared application object).
- The same command id arriving over HTTP and over Kafka is applied once.
- ``saksflyt serve`` restarted on an existing store does not deliver old events to the read
  models again (the position is kept with the rows).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from consumers.dead_letters import DeadLetters
from consumers.intake import CommandIntake
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from domain import commands as cmd
from domain.lifecycle import OSLO
from projections import queries
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.http.commands import new_case_id
from saksflyt.settings import Settings
from tests.kafka_helpers import send_commands, wait_for
from tests.stores import sqlite_settings
from tests.tokens import client as api_client

THREADS = 12
REQUESTS = 120
T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)


def _draft(client: TestClient, key: UUID, chosen: UUID) -> int:
    response = client.post(
        "/drafts",
        json={"service": "horingssvar", "kommunenummer": "0301", "case_id": str(chosen)},
        headers={"Idempotency-Key": str(key)},
    )
    if response.status_code == 201:  # the case's id derives from the one chosen
        assert response.json()["case_id"] == str(new_case_id("0301", chosen))
    return response.status_code


def test_concurrent_requests_each_record_their_own_command_id(tmp_path: Path) -> None:
    keys = [uuid4() for _ in range(REQUESTS)]
    cases = {key: uuid4() for key in keys}
    with api_client(sqlite_settings(tmp_path)) as client:
        with ThreadPoolExecutor(THREADS) as pool:
            statuses = list(pool.map(lambda k: _draft(client, k, cases[k]), keys))
        assert statuses == [201] * REQUESTS
        app = client.app.state.services.app  # type: ignore[attr-defined]
        for key in keys:
            assert app.has_processed(key), "every request's own id is recorded with its case"
            assert app.get_case(new_case_id("0301", cases[key])).version == 1
        with ThreadPoolExecutor(THREADS) as pool:
            resent = list(pool.map(lambda k: _draft(client, k, cases[k]), keys))
        assert resent == [201] * REQUESTS
        assert all(app.get_case(new_case_id("0301", c)).version == 1 for c in cases.values())


def test_concurrent_steps_on_one_case_are_all_applied_once(tmp_path: Path) -> None:
    with api_client(sqlite_settings(tmp_path)) as client:
        chosen = uuid4()
        assert _draft(client, uuid4(), chosen) == 201
        case_id = new_case_id("0301", chosen)
        keys = [uuid4() for _ in range(40)]

        def save(key: UUID) -> int:
            body = {"form": {"merknad": f"utkast {key}"}}
            headers = {"Idempotency-Key": str(key)}
            return client.post(
                f"/applications/{case_id}/draft", json=body, headers=headers
            ).status_code

        with ThreadPoolExecutor(THREADS) as pool:
            statuses = list(pool.map(save, keys))
        app = client.app.state.services.app  # type: ignore[attr-defined]
        applied = sum(status == 200 for status in statuses)
        assert app.get_case(case_id).version == 1 + applied
        assert all(app.has_processed(k) for k, s in zip(keys, statuses, strict=True) if s == 200)


def test_the_same_command_over_http_and_kafka_is_applied_once(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics
) -> None:
    settings = sqlite_settings(tmp_path)
    key, chosen = uuid4(), uuid4()
    with api_client(settings) as client:
        assert _draft(client, key, chosen) == 201
    case_id = new_case_id("0301", chosen)
    command = cmd.StartApplication(
        command_id=key,
        case_id=case_id,
        issued_at=T0,
        received_at=T0,
        service="horingssvar",
        kommunenummer="0301",
    )
    producer = kafka_wiring.producer(kafka_bootstrap)
    send_commands(producer, topics.commands, [command])
    app = bootstrap(settings)
    intake = CommandIntake(app, producer, topics.rejected)
    runner = ConsumerRunner(
        kafka_wiring.consumer(kafka_bootstrap, "one-path"),
        [topics.commands],
        intake,
        DeadLetters(producer, topics.commands_dlq, "one-path"),
    )
    stop = threading.Event()
    wait_for(lambda: runner.poll_once(stop) > 0 or intake.stats.duplicate > 0, what="intake")
    runner.consumer.close()
    assert (intake.stats.accepted, intake.stats.duplicate, intake.stats.rejected) == (0, 1, 0)
    assert [type(e).__name__ for e in app.history(case_id)] == ["Created"]
    app.close()
    producer.close()


def _status(settings: Settings) -> dict[str, object]:
    store = projection_store(settings)
    status = queries.status(store.db) or {}
    store.db.close()
    return status


def test_serve_restarted_on_an_existing_store_delivers_nothing_again(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    with api_client(settings) as client:
        for _ in range(5):
            assert _draft(client, uuid4(), uuid4()) == 201
    first = _status(settings)
    assert first["events_applied"] == 5 and first["duplicates_dropped"] == 0
    with api_client(settings) as client:
        assert client.get("/overview").status_code == 200
    again = _status(settings)
    assert (again["events_applied"], again["duplicates_dropped"]) == (5, 0)
    assert again["last_applied_at"] == first["last_applied_at"], "nothing was written at start"
