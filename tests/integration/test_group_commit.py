"""Group commit (``Casework.handle_batch``) decides exactly as ``handle`` one command at a time.

The same commands — a simulated month's realistic mix, interleaved across cases, with resent
commands, a case's second command in the same batch, commands for cases that do not exist and
refusals — go through both paths into two fresh event stores; every case's history and every
command's outcome must be equal. Both event stores, personal data sealed as in production.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from consumers.topics import Topics
from domain import commands as cmd
from domain.application import Application
from domain.casework import Casework
from domain.errors import CaseNotFound, InvalidTransition
from domain.group_commit import BatchInterrupted
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.demo.simulation import simulated_commands
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.settings import Settings
from schemas.mapping import COMMAND_NAMES
from tests.kafka_helpers import Background, intake_runner, read_topic, send_commands, wait_for
from tests.stores import postgres_settings, sqlite_settings

APPLICATIONS = 60
OPEN = {"service": "avfallsbeholder", "kommunenummer": "0301"}


def simulated(folder: Path, ring: Path) -> list[cmd.Command]:
    """The demo's commands for a month, in the order the demo sent them (case by case)."""
    app = bootstrap(sqlite_settings(folder, key_ring=ring))
    try:
        commands = simulated_commands(app, APPLICATIONS, seed=7)
    finally:
        app.close()
    return sorted(commands, key=lambda c: c.case_id.int)  # interleaved below, at random


def interleaved(commands: list[cmd.Command], rng: random.Random) -> list[cmd.Command]:
    """Cases' commands mixed as they would arrive, each case's own order kept; some resent,
    some for cases nobody opened."""
    by_case: dict[UUID, list[cmd.Command]] = {}
    for command in commands:
        by_case.setdefault(command.case_id, []).append(command)
    queues = list(by_case.values())
    mixed: list[cmd.Command] = []
    while queues:
        queue = rng.choice(queues)
        mixed.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    for _ in range(len(mixed) // 10):  # resent: the same command id again, later
        mixed.insert(rng.randrange(len(mixed)), mixed[rng.randrange(len(mixed) // 2)])
    for _ in range(5):  # a step for a case that does not exist
        ghost = replace(mixed[rng.randrange(len(mixed))], command_id=uuid4(), case_id=uuid4())
        mixed.insert(rng.randrange(len(mixed)), ghost)
    return mixed


def history(app: Casework, case_id: UUID) -> list[tuple[int, str, dict[str, Any]]]:
    try:
        events = list(app.history(case_id))
    except CaseNotFound:
        return []
    return [(e.originator_version, type(e).__name__, _without_timestamp(vars(e))) for e in events]


def _without_timestamp(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "timestamp"}


def form(seed: int) -> dict[str, Any]:
    return synthetic.complete_form(random.Random(seed), OPEN["service"], OPEN["kommunenummer"])


def outcome(handled: cmd.Handled) -> tuple[str, str | None, int | None]:
    return handled.verdict.value, handled.code, handled.version


def batches(commands: list[cmd.Command], rng: random.Random) -> Iterator[list[cmd.Command]]:
    at = 0
    while at < len(commands):
        size = rng.choice([1, 7, 50, 200])
        yield commands[at : at + size]
        at += size


@pytest.fixture(params=["sqlite", "postgres"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, Settings]:
    ring = tmp_path / "keyring.json"
    FileKeyRing.create(ring)
    stores = []
    for name in ("one-by-one", "batched"):
        folder = tmp_path / name
        folder.mkdir()
        if request.param == "sqlite":
            stores.append(sqlite_settings(folder, key_ring=ring))
        else:
            schema = request.getfixturevalue("postgres_schema") + name[0]
            url = request.getfixturevalue("postgres_url")
            _create_schema(url, schema)
            request.addfinalizer(lambda url=url, schema=schema: _drop_schema(url, schema))
            stores.append(postgres_settings(url, schema, folder, key_ring=ring))
    return stores[0], stores[1]


def _create_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_batched_commands_end_as_one_by_one(
    two_stores: tuple[Settings, Settings], tmp_path: Path
) -> None:
    rng = random.Random(2026)
    ring = two_stores[0].key_ring
    commands = interleaved(simulated(tmp_path, ring), rng)
    single, batched = bootstrap(two_stores[0]), bootstrap(two_stores[1])
    try:
        one_by_one = [outcome(single.handle(c)) for c in commands]
        grouped = [
            outcome(h) for chunk in batches(commands, rng) for h in batched.handle_batch(chunk)
        ]
        verdicts = {v for v, _, _ in one_by_one}
        assert verdicts == {"accepted", "rejected", "duplicate"}, "the mix covers every verdict"
        assert grouped == one_by_one
        for case_id in {c.case_id for c in commands}:
            assert history(batched, case_id) == history(single, case_id)
        assert batched.recorder.max_notification_id() == single.recorder.max_notification_id()
        chained = batched.verify()
        assert chained.breaks == [] and chained.unchained == 0, "hash chains intact"
        assert chained.events == single.verify().events
    finally:
        single.close()
        batched.close()


def test_a_command_that_breaks_stops_the_batch_after_committing_those_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything other than a refusal: the commands before it are stored, it and the rest are not."""
    app = bootstrap(sqlite_settings(tmp_path))
    try:
        commands = simulated(tmp_path / "demo", tmp_path / "keyring.json")[:40]
        broken = commands[20]
        decide = app._decide

        def failing(command: cmd.Command, *loaded: Any) -> Any:
            if command is broken:
                raise RuntimeError("a bug, not a refusal")
            return decide(command, *loaded)

        monkeypatch.setattr(app, "_decide", failing)
        with pytest.raises(BatchInterrupted) as stopped:
            app.handle_batch(commands)
        assert isinstance(stopped.value.__cause__, RuntimeError)
        assert [h.command for h in stopped.value.handled] == commands[:20]
        assert all(app.has_processed(c.command_id) for c in commands[:20])
        assert not any(app.has_processed(c.command_id) for c in commands[20:])
    finally:
        app.close()


def test_another_writer_between_decision_and_commit_sends_the_group_one_by_one(
    store_settings: Settings, t0: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process changes a case of the group before it commits: nothing of the group is
    stored as decided; each command is decided again against what is stored, and none is lost."""
    app, other = bootstrap(store_settings), bootstrap(store_settings)
    try:
        a, b = uuid4(), uuid4()
        for case_id in (a, b):
            app.handle(
                cmd.StartApplication(command_id=uuid4(), case_id=case_id, received_at=t0, **OPEN)
            )
        to_a, to_b = (
            cmd.SaveDraft(command_id=uuid4(), case_id=case_id, received_at=t0, form=form(n))
            for n, case_id in enumerate((a, b))
        )
        decide = app._decide
        interfered: list[bool] = []

        def meanwhile(command: cmd.Command, *loaded: Any) -> Any:
            decided = decide(command, *loaded)
            if command is to_b and not interfered:  # A waits in the group: change it elsewhere
                interfered.append(True)
                other.handle(
                    cmd.SaveDraft(command_id=uuid4(), case_id=a, received_at=t0, form=form(9))
                )
            return decided

        monkeypatch.setattr(app, "_decide", meanwhile)
        outcomes = app.handle_batch([to_a, to_b])
        assert [outcome(h) for h in outcomes] == [("accepted", None, 3), ("accepted", None, 2)]
        assert [e["form"] for _, name, e in history(app, a) if name == "DraftSaved"] == [
            form(9),
            form(0),
        ]
    finally:
        app.close()
        other.close()


def test_a_refused_step_that_had_recorded_an_event_sends_the_batch_one_by_one(
    tmp_path: Path, t0: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step of several events refused after its first: the case as decided in the group is
    spoiled, so nothing of the group is stored from it and every command is decided alone — the
    refused step leaves no event behind, the others are all applied."""
    app = bootstrap(sqlite_settings(tmp_path))
    try:
        case_id = uuid4()
        start = cmd.StartApplication(command_id=uuid4(), case_id=case_id, received_at=t0, **OPEN)
        drafts = [
            cmd.SaveDraft(command_id=uuid4(), case_id=case_id, received_at=t0, form=form(n))
            for n in range(3)
        ]
        save_draft = Application.save_draft

        def half(case: Application, form: dict[str, Any], at: datetime) -> None:
            save_draft(case, form, at)
            if form == drafts[1].form:
                raise InvalidTransition(case.id, "draft", "save draft", "bench", "second thoughts")

        monkeypatch.setattr(Application, "save_draft", half)
        outcomes = app.handle_batch([start, *drafts])
        assert [outcome(h) for h in outcomes] == [
            ("accepted", None, 1),
            ("accepted", None, 2),
            ("rejected", "bench", None),
            ("accepted", None, 3),
        ]
        saved = [e["form"] for _, name, e in history(app, case_id) if name == "DraftSaved"]
        assert saved == [drafts[0].form, drafts[2].form]
    finally:
        app.close()


def test_on_kafka_a_command_that_fails_for_good_is_dead_lettered_and_its_poll_goes_on(
    tmp_path: Path, kafka_bootstrap: str, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake's group commit over a real broker: one command's handling breaks (a bug, not a
    refusal) — it lands in the dead-letter topic with its reason, every other command of the poll
    is stored, and the runner carries on with the next poll."""
    app = bootstrap(sqlite_settings(tmp_path))
    try:
        commands = simulated(tmp_path / "demo", tmp_path / "keyring.json")
        on_kafka = [c for c in commands if type(c) in COMMAND_NAMES]
        broken = next(c for c in on_kafka[5:] if not isinstance(c, cmd.StartApplication))
        decide = app._decide

        def failing(command: cmd.Command, *loaded: Any) -> Any:
            if command.command_id == broken.command_id:
                raise RuntimeError("a bug, not a refusal")
            return decide(command, *loaded)

        monkeypatch.setattr(app, "_decide", failing)
        producer = kafka_wiring.producer(kafka_bootstrap)
        send_commands(producer, topics.commands, on_kafka)
        intake, runner = intake_runner(app, kafka_bootstrap, topics, f"g-{uuid4().hex[:6]}")
        loop = Background(runner.run)
        stats = intake.stats
        wait_for(
            lambda: stats.accepted + stats.rejected + stats.duplicate == len(on_kafka) - 1,
            what="every other command handled",
        )
        dead = read_topic(kafka_bootstrap, topics.commands_dlq, lambda r: len(r) >= 1)
        loop.stop()
        assert runner.stats.dead_lettered == 1 and len(dead) == 1
        assert dict(dead[0].headers)["dlq_error_class"] == b"RuntimeError"
        assert not app.has_processed(broken.command_id)
        others = [c for c in on_kafka if c is not broken]
        assert all(app.has_processed(c.command_id) for c in others)
        producer.close()
    finally:
        app.close()
