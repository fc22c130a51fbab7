"""Event-store throughput: saksflyt's Casework against the bare eventsourcing library.

For each store (SQLite file, PostgreSQL when SAKSFLYT_TEST_POSTGRES_URL is set) it submits and
decides N waste-bin cases through Casework (Created + DraftSaved, Submitted, DecisionMade: four
events in three saves, each step loading the case first), then stores the same number of events of
the same mean size with a bare eventsourcing aggregate in the same pattern (load, one event, save).

    python bench/eventstore.py [--cases N]

Prints events/s per store and the ratio; numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import Application as BareApplication
from eventsourcing.domain import Aggregate, event

from domain import commands as cmd
from domain.casework import Casework
from domain.lifecycle import OSLO, Outcome
from domain.values import Decision
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import synthetic
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.settings import Settings

EVENTS_PER_CASE = 4
OPEN = {"service": "avfallsbeholder", "kommunenummer": "0301"}
DECISION = Decision(Outcome.GRANTED, "forurensningsloven § 30", "bench")


class Blob(Aggregate):
    """A bare aggregate that records opaque payloads of a chosen size."""

    @event("Started")
    def __init__(self, payload: str) -> None:
        self.count = 1

    @event("Recorded")
    def record(self, payload: str) -> None:
        self.count += 1


def run_casework(app: Casework, cases: int) -> float:
    rng = random.Random(1)
    forms = [synthetic.complete_form(rng, "avfallsbeholder", "0301") for _ in range(cases)]
    t0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)
    started = time.perf_counter()
    for form in forms:
        case_id = uuid.uuid4()
        for at, command_type, fields in (
            (t0, cmd.StartApplication, {**OPEN, "form": form}),
            (t0 + timedelta(hours=1), cmd.SubmitApplication, {}),
            (t0 + timedelta(days=3), cmd.Decide, {"decision": DECISION}),
        ):
            command = command_type(
                command_id=uuid.uuid4(), case_id=case_id, received_at=at, **fields
            )
            app.handle(command)
    return time.perf_counter() - started


def mean_state_size(app: Casework) -> int:
    sizes = [len(n.state) for n in app.recorder.select_notifications(start=1, limit=10_000)]
    return sum(sizes) // len(sizes)


def run_bare(env: dict[str, str], cases: int, payload_size: int) -> float:
    app = BareApplication[uuid.UUID](env=env)
    payload = "x" * payload_size
    started = time.perf_counter()
    for _ in range(cases):
        blob = Blob(payload)
        blob.record(payload)
        app.save(blob)
        for _ in range(EVENTS_PER_CASE - 2):
            loaded: Blob = app.repository.get(blob.id)
            loaded.record(payload)
            app.save(loaded)
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


@contextmanager
def sqlite_store() -> Iterator[tuple[Settings, dict[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            event_store="sqlite",
            sqlite_path=Path(tmp) / "saksflyt.db",
            key_ring=Path(tmp) / "keyring.json",
        )
        bare_env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{tmp}/bare.db"}
        yield settings, bare_env


@contextmanager
def postgres_store(url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ring = Path(tmp) / "keyring.json"
            FileKeyRing.create(ring)
            settings = Settings(
                event_store="postgres", postgres_url=url, postgres_schema=schema, key_ring=ring
            )
            bare_env = {**settings.eventsourcing_env()}
            yield settings, bare_env
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure(name: str, store: Callable[[], Any], cases: int) -> dict[str, Any]:
    with store() as (settings, bare_env):
        app = bootstrap(settings)
        seconds = run_casework(app, cases)
        events = app.recorder.max_notification_id() or 0
        size = mean_state_size(app)
        app.close()
        bare_seconds = run_bare(bare_env, cases, size)
    return {
        "store": name,
        "events": events,
        "mean_event_bytes": size,
        "saksflyt_events_per_s": events / seconds,
        "bare_events_per_s": cases * EVENTS_PER_CASE / bare_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved; the median is shown")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    stores: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_store)]
    url = os.environ.get("SAKSFLYT_TEST_POSTGRES_URL")
    if url:
        stores.append(("postgres", lambda: postgres_store(url)))
    print(f"{os.cpu_count()} cores; {args.cases} cases x {EVENTS_PER_CASE} events per store")
    print(
        f"{'store':<9} {'events':>7} {'bytes/ev':>9} {'saksflyt ev/s':>14} {'bare ev/s':>10} {'ratio':>6}"
    )
    results = {}
    for name, store in stores:
        rounds = [measure(name, store, args.cases) for _ in range(args.rounds)]
        r = {
            **rounds[-1],
            "saksflyt_events_per_s": statistics.median(x["saksflyt_events_per_s"] for x in rounds),
            "bare_events_per_s": statistics.median(x["bare_events_per_s"] for x in rounds),
            "rounds": args.rounds,
        }
        r["ratio"] = r["saksflyt_events_per_s"] / r["bare_events_per_s"]
        results[name] = r
        print(
            f"{r['store']:<9} {r['events']:>7} {r['mean_event_bytes']:>9} "
            f"{r['saksflyt_events_per_s']:>14,.0f} {r['bare_events_per_s']:>10,.0f} {r['ratio']:>6.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
