"""What sealing personal data costs: the command path and read-model apply, with and without.

The same applications (care services: health data in every form) go through ``Casework.handle``
with the key-ring vault (per-case data keys, AES-GCM) and without it, on the same kind of store,
interleaved, best of three rounds; then their public events are applied to fresh read models
(sealed forms are longer strings; the projector never opens them).

    python bench/privacy.py [--cases N]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from consumers.delivery import InProcessDelivery
from domain import commands as cmd
from domain.casework import Casework
from domain.lifecycle import OSLO, Outcome
from domain.values import Decision
from projections.database import Database
from projections.store import ProjectionStore, ProjectionWriter
from saksflyt.bootstrap import key_vault
from saksflyt.demo import synthetic
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.settings import Settings

T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)
DECISION = Decision(Outcome.GRANTED, "helse- og omsorgstjenesteloven § 3-2", "bench")


def commands(cases: int) -> list[cmd.Command]:
    rng = random.Random(1)
    out: list[cmd.Command] = []
    for _ in range(cases):
        case_id = uuid.uuid4()
        form = synthetic.complete_form(rng, "pleie-omsorg", "0301")
        out.append(
            cmd.SubmitNewApplication(
                command_id=uuid.uuid4(),
                case_id=case_id,
                received_at=T0,
                service="pleie-omsorg",
                kommunenummer="0301",
                form=form,
            )
        )
        later = T0 + timedelta(days=3)
        out.append(
            cmd.Decide(
                command_id=uuid.uuid4(), case_id=case_id, received_at=later, decision=DECISION
            )
        )
    return out


def one_round(
    folder: Path, sealed: bool, work: list[cmd.Command], postgres: str | None
) -> tuple[float, float]:
    settings = Settings(
        event_store="postgres" if postgres else "sqlite",
        sqlite_path=folder / "events.db",
        postgres_url=postgres,
        postgres_schema=_schema(postgres) if postgres else None,
        key_ring=folder / "keyring.json",
        document_dir=folder / "documents",
    )
    if postgres:
        FileKeyRing.create(settings.key_ring)
    vault = key_vault(settings) if sealed else None
    app = Casework(env=settings.eventsourcing_env(), vault=vault)
    started = time.perf_counter()
    for command in work:
        app.handle(command)
    handled = time.perf_counter() - started
    writer = ProjectionWriter(ProjectionStore(Database.sqlite(folder / "projections.db")))
    writer.store.migrate()
    delivery = InProcessDelivery(app, [writer])
    started = time.perf_counter()
    events = delivery.deliver()
    applied = time.perf_counter() - started
    app.close()
    return len(work) / handled, events / applied


def _schema(url: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = commands(args.cases)
    stores = [("SQLite", None)]
    if url := os.environ.get("SAKSFLYT_TEST_POSTGRES_URL"):
        stores.append(("PostgreSQL", url))
    print(f"{os.cpu_count()} cores; {args.cases} care-service cases, best of {args.rounds}")
    print(f"{'store':<11} {'stage':<26} {'sealed':>10} {'plain':>10} {'ratio':>6}")
    for store, postgres in stores:
        best: dict[bool, list[float]] = {True: [0.0, 0.0], False: [0.0, 0.0]}
        for _ in range(args.rounds):
            for sealed in (False, True):  # interleaved, so drift hits both alike
                with tempfile.TemporaryDirectory() as tmp:
                    rates = one_round(Path(tmp), sealed, work, postgres)
                best[sealed] = [max(a, b) for a, b in zip(best[sealed], rates, strict=True)]
        for i, stage in enumerate(("command path (cmd/s)", "read-model apply (ev/s)")):
            ratio = best[True][i] / best[False][i]
            print(
                f"{store:<11} {stage:<26} {best[True][i]:>10,.0f} "
                f"{best[False][i]:>10,.0f} {ratio:>6.2f}"
            )


if __name__ == "__main__":
    main()
