"""Personal data never sits in cleartext where it does not belong, and kassasjon destroys it.

The demo on the embedded store and the Kafka path on PostgreSQL run with synthetic people; then
the raw bytes of every place data lands — SQLite files, PostgreSQL's data directory, the Kafka log
segments of our topics, the attachment folder, the read models, the logs, /metrics — are searched
for every identity number, name, e-mail address and health phrase used. After kassasjon the
shredded cases' personal fields cannot be opened with the key ring; the others still can.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from prometheus_client import REGISTRY, generate_latest

from consumers.delivery import InProcessDelivery
from consumers.public_events import from_kafka_record
from consumers.topics import Topics
from domain import commands as cmd
from domain.casework import Casework
from domain.lifecycle import Outcome, Status
from domain.services import Catalogue
from domain.values import Decision
from projections.store import ProjectionWriter
from saksflyt import eventlog, kafka_wiring
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import synthetic
from saksflyt.demo.simulation import HORIZON, run_demo
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.privacy.sealed import Unsealer, seal
from saksflyt.privacy.vault import KeyVault
from schemas.registry import default_registry
from tests import needs
from tests.kafka_helpers import (
    CODEC,
    T0,
    intake_runner,
    read_topic,
    relay_for,
    wait_for,
)
from tests.stores import postgres_settings, sqlite_settings
from tests.tokens import client as api_client

PERSONAL_KEYS = {
    "fodselsnummer",
    "navn",
    "epost",
    "adresse",
    "helseopplysninger",
    "funksjonsnedsettelse",
    "behov_for_ledsager",
}


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    else:
        yield key, value


def personal_values(forms: Iterable[dict[str, Any]]) -> set[bytes]:
    """Every personal value in these forms, as the bytes a leak would show."""
    found = set()
    for form in forms:
        for key, value in _leaves(form):
            if key in PERSONAL_KEYS and isinstance(value, str) and len(value) >= 6:
                found.add(value.encode())
    return found


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


def leaks(values: set[bytes], texts: Iterable[bytes]) -> set[bytes]:
    hits: set[bytes] = set()
    for blob in texts:
        hits |= {v for v in values if v in blob}
    return hits


def _vault(app: Casework) -> KeyVault:
    assert isinstance(app.vault, KeyVault)
    return app.vault


@pytest.mark.slow
def test_the_demo_keeps_no_personal_data_in_clear_and_kassasjon_destroys_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    result = run_demo(app, 150, seed=7)
    writer = ProjectionWriter(projection_store(settings))
    InProcessDelivery(app, [writer]).deliver()
    closed = [
        c for c in result.case_ids if app.get_case(c).status in (Status.DECIDED, Status.WITHDRAWN)
    ]
    for case_id in closed[:12]:  # kassasjon after the appeal period
        later = HORIZON + timedelta(days=60)
        shred = cmd.Shred(
            command_id=uuid4(),
            case_id=case_id,
            received_at=later,
            reason="test",
            override_reason="test: kassasjon whatever the retention policy",
        )
        assert app.handle(shred).refusal is None
    InProcessDelivery(app, [writer]).deliver()
    cases = [app.get_case(c) for c in result.case_ids]
    alive = [c for c in cases if c.status is not Status.SHREDDED and c.form]
    shredded = [c for c in cases if c.status is Status.SHREDDED]
    assert len(alive) > 50 and len(shredded) > 5, "the demo shreds some cases, keeps others"
    values = personal_values(c.form for c in alive)
    assert len(values) > 100
    stored = files_under(settings.sqlite_path.parent)  # events, read models, attachments
    blobs = [p.read_bytes() for p in stored if p.name != "keyring.json"]
    blobs += [caplog.text.encode(), generate_latest(REGISTRY)]
    for fmt in eventlog.FORMATS:  # the event log for process mining, as analysts get it
        exported = io.BytesIO()
        eventlog.write(exported, eventlog.traces(app), fmt)
        blobs.append(exported.getvalue())
    assert leaks(values, blobs) == set()

    vault = _vault(app)
    for case in shredded:
        assert vault.is_erased(case.id) and case.form == {}
        assert not (settings.document_dir / str(case.id)).exists()
        assert vault.erasures(case.id)[0]["completed_at"] is not None
    again = bootstrap(settings)  # a fresh process with the key ring opens the rest
    assert all(again.get_case(c.id).form == c.form for c in alive[:20])
    with api_client(settings) as client:
        events = client.get(
            f"/applications/{shredded[0].id}/events", params={"include_personal_data": True}
        ).json()
    personal = [e["form_json"] for e in events if "form_json" in e]
    assert personal and set(personal) == {"[kassert]"}
    again.close()
    app.close()


def _sealed_form(ring: FileKeyRing, form: dict[str, Any]) -> str:
    key_id, public = ring.sealing_public_key("0301")
    return seal(key_id, public, json.dumps(form))


def test_on_kafka_and_postgresql_every_copy_is_ciphertext(
    tmp_path: Path,
    postgres_url: str,
    postgres_schema: str,
    kafka_bootstrap: str,
    topics: Topics,
) -> None:
    pg_data = Path(os.environ.get("SAKSFLYT_TEST_POSTGRES_DATA", ""))
    kafka_data = Path(os.environ.get("SAKSFLYT_TEST_KAFKA_DATA", ""))
    if not pg_data.is_dir() or not kafka_data.is_dir():
        needs.missing("the data folders of the test PostgreSQL and Kafka", "`make test` sets them")
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    ring = FileKeyRing.load(settings.key_ring)
    rng = random.Random(11)
    # applicants outside pleie-omsorg's selection by person, so the shredding is allowed
    care = Catalogue.default().service("pleie-omsorg").retention
    made = (synthetic.complete_form(rng, "pleie-omsorg", "0301") for _ in iter(int, 1))
    unselected = (
        f for f in made if care.decide(f, f["soker"]["fodselsnummer"])[0].value == "shred"
    )
    forms = {uuid4(): next(unselected) for _ in range(30)}
    decision = Decision(Outcome.GRANTED, "hol. § 3-2", "sb-1")
    commands: list[cmd.Command] = []
    for case_id, form in forms.items():
        at = {"received_at": T0, "issued_at": T0, "case_id": case_id}
        commands.append(
            cmd.SubmitNewApplication(
                command_id=uuid4(), service="pleie-omsorg", kommunenummer="0301", form=form, **at
            )
        )
    shred_these = list(forms)[:5]
    for case_id in shred_these:
        decided = {"received_at": T0 + timedelta(days=3), "issued_at": T0 + timedelta(days=3)}
        later = {"received_at": T0 + timedelta(days=90), "issued_at": T0 + timedelta(days=90)}
        commands.append(
            cmd.Decide(command_id=uuid4(), case_id=case_id, decision=decision, **decided)
        )
        commands.append(cmd.Shred(command_id=uuid4(), case_id=case_id, **later))

    send_sealed(kafka_wiring.producer(kafka_bootstrap), topics.commands, commands, ring)
    app = bootstrap(settings)
    intake, runner = intake_runner(app, kafka_bootstrap, topics, "privacy")
    intake.unseal = Unsealer(ring, default_registry())
    stop = threading.Event()
    wait_for(lambda: runner.poll_once(stop) >= 0 and intake.stats.accepted == len(commands))
    runner.consumer.close()
    relay = relay_for(app, settings, kafka_bootstrap, topics)
    assert relay.position.acquire(stop)
    relay.catch_up()
    relay.position.release()
    records = read_topic(kafka_bootstrap, topics.events, lambda r: len(r) >= len(forms) * 2)
    submitted = [from_kafka_record(r, CODEC) for r in records]
    submitted = [e for e in submitted if e.name == "ApplicationSubmitted"]
    assert submitted and all(e.record["form_json"].startswith("pd1.") for e in submitted)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    values = personal_values(forms.values())
    ours = [d for d in kafka_data.iterdir() if d.name.startswith(topics.prefix)]
    assert len(ours) >= 3
    blobs = (
        p.read_bytes() for p in files_under(pg_data, *ours, tmp_path) if p.name != "keyring.json"
    )
    assert leaks(values, blobs) == set()

    vault = _vault(app)
    for event in submitted:
        case_id = event.case_id
        opened = vault.open(case_id, "form", event.record["form_json"])
        if case_id in shred_these:
            assert opened is None, "the key is gone: nobody can open it again"
        else:
            assert opened is not None
            assert json.loads(opened)["soker"] == forms[case_id]["soker"]
    app.close()


def send_sealed(producer: Any, topic: str, commands: list[cmd.Command], ring: FileKeyRing) -> None:
    """Send commands the way a sealing backend does: personal fields sealed to the municipality."""
    from schemas.kafka_layout import command_record
    from schemas.mapping import command_to_record

    for command in commands:
        name, record = command_to_record(command, "fagsystem")
        if record.get("form_json"):
            record["form_json"] = _sealed_form(ring, json.loads(record["form_json"]))
        message = command_record(name, record, CODEC)
        producer.send(topic, key=message.key, value=message.value, headers=message.headers)
    producer.flush(timeout=60)


CRASH = """
import os, shutil, signal, sys
from saksflyt.cli import main

real = shutil.rmtree

def crash(path, ignore_errors=False):
    real(path, ignore_errors=ignore_errors)
    os.kill(os.getpid(), signal.SIGKILL)  # between deleting the files and destroying the key

shutil.rmtree = crash
sys.exit(main(["erase", "--case", sys.argv[1], "--reason", "kassasjon etter arkivplan"]))
"""


def test_an_erasure_killed_halfway_is_finished_by_the_next_start(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    case_id = uuid4()
    form = synthetic.complete_form(random.Random(3), "avfallsbeholder", "0301")
    base = {"case_id": case_id, "received_at": T0}
    steps = [
        cmd.SubmitNewApplication(
            command_id=uuid4(), service="avfallsbeholder", kommunenummer="0301", form=form, **base
        ),
        cmd.Decide(
            command_id=uuid4(),
            decision=Decision(Outcome.GRANTED, "lov", "sb"),
            **{**base, "received_at": T0 + timedelta(days=1)},
        ),
    ]
    for step in steps:
        assert app.handle(step).refusal is None
    (settings.document_dir / str(case_id)).mkdir(parents=True)
    (settings.document_dir / str(case_id) / "vedlegg").write_bytes(b"sealed bytes")
    app.close()
    env = {
        **os.environ,
        "SAKSFLYT_SQLITE_PATH": str(settings.sqlite_path),
        "SAKSFLYT_PROJECTION_SQLITE_PATH": str(settings.projection_sqlite_path),
        "SAKSFLYT_DOCUMENT_DIR": str(settings.document_dir),
        "SAKSFLYT_KEY_RING": str(settings.key_ring),
    }
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(case_id)], env=env, timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    after_crash = bootstrap(settings.model_copy())  # the next start finishes what was begun
    vault = _vault(after_crash)
    assert after_crash.get_case(case_id).status is Status.SHREDDED
    assert vault.is_erased(case_id) and after_crash.get_case(case_id).form == {}
    assert vault.erasures(case_id)[0]["completed_at"] is not None
    assert not (settings.document_dir / str(case_id)).exists()
    after_crash.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_an_erased_key_leaves_no_copy_in_the_store_files(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Kassasjon destroys the case's wrapped key, and no copy of it stays in the store's files:
    SQLite zeroes what it overwrites (secure_delete set by saksflyt, not left to the build's
    default), PostgreSQL's table is written anew without the dead row version (VACUUM FULL). (The
    WAL and backups are another matter: docs/privacy.md.)"""
    if store == "sqlite":
        settings, files = sqlite_settings(tmp_path), [tmp_path]
    else:
        pg_data = Path(os.environ.get("SAKSFLYT_TEST_POSTGRES_DATA") or "/nonexistent")
        if not pg_data.is_dir():
            needs.missing("the data folder of the test PostgreSQL", "`make test` sets it")
        url, schema = (request.getfixturevalue(f) for f in ("postgres_url", "postgres_schema"))
        settings, files = postgres_settings(url, schema, tmp_path), [pg_data / "base"]
    app = bootstrap(settings)
    vault = _vault(app)
    if store == "sqlite":
        assert vault.db.rows("PRAGMA secure_delete")[0]["secure_delete"] == 1
    form = synthetic.complete_form(random.Random(4), "sosialhjelp", "0301")
    case_id = uuid4()
    filed = cmd.SubmitNewApplication(
        command_id=uuid4(), case_id=case_id, received_at=T0, service="sosialhjelp",
        kommunenummer="0301", form=form,
    )  # fmt: skip
    assert app.handle(filed).refusal is None
    (wrapped,) = (
        r["wrapped"]
        for r in vault.db.rows(
            "SELECT wrapped FROM saksflyt_case_keys WHERE case_id = ?", (str(case_id),)
        )
    )
    withdrawn = cmd.Withdraw(
        command_id=uuid4(), case_id=case_id, received_at=T0 + timedelta(hours=1), reason="test"
    )
    shred = cmd.Shred(
        command_id=uuid4(), case_id=case_id, received_at=T0 + timedelta(days=1),
        override_reason="test: kassasjon whatever the retention policy",
    )  # fmt: skip
    assert app.handle(withdrawn).refusal is None and app.handle(shred).refusal is None
    assert vault.is_erased(case_id)
    vault.compact()  # what retention run and saksflyt erase do after erasing
    if store == "postgres":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    holding = [str(p) for p in files_under(*files) if wrapped.encode() in p.read_bytes()]
    assert holding == []
    app.close()
