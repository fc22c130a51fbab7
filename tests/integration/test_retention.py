"""Retention that runs itself, on a controlled clock: the plan is what a run does, a run is done
once however many run, keep rules keep what they should, and going against the policy by hand
needs an archivist's reason, which is recorded."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain import commands as cmd
from domain.casework import Casework
from domain.identifiers import synthetic_fodselsnummer
from domain.lifecycle import Outcome, Status
from domain.retention import RetentionAction
from domain.values import Decision
from saksflyt.archive import retention
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import synthetic
from tests.api_helpers import new
from tests.clock import FakeClock
from tests.send import send
from tests.stores import numbers, postgres_settings, sqlite_settings

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
GRANTED = Decision(Outcome.GRANTED, "lov § 1", "saksbehandler")


def decided_case(app: Casework, service: str, case_id: UUID, **form: Any) -> UUID:
    """Submitted on T0 and granted the next day (no attachments needed for these services);
    a høringssvar is only registered (no individual decision: closed once submitted)."""
    complete = {**synthetic.complete_form(random.Random(case_id.int), service, "0301"), **form}
    new_case = {"service": service, "kommunenummer": "0301", "form": complete}
    send(app, cmd.SubmitNewApplication, case_id, T0, **new_case)
    if app.catalogue.service(service).individual_decision:
        send(app, cmd.Decide, case_id, T0 + timedelta(days=1), decision=GRANTED)
    return case_id


def born(day: int) -> dict[str, Any]:
    """A care applicant born on ``day`` of a month (a synthetic, checksum-valid number)."""
    number = synthetic_fodselsnummer(random.Random(day), date(1950, 3, day))
    return {"soker": {"fodselsnummer": number, "navn": f"Søker {day}"}}


def some_cases(app: Casework) -> dict[str, UUID]:
    """One case per kind of retention outcome; care applicants in and out of the selection by
    person (born on the 1st or 15th of a month)."""
    return {
        "waste bin (shred, 30 days)": decided_case(app, "avfallsbeholder", UUID(int=101)),
        "consultation reply (archive)": decided_case(app, "horingssvar", UUID(int=102)),
        "social help with children (kept)": decided_case(
            app, "sosialhjelp", UUID(int=103), husstand_antall=3, barn_antall=2
        ),
        "social help without children (shred)": decided_case(
            app, "sosialhjelp", UUID(int=104), husstand_antall=1, barn_antall=0
        ),
        "care, born on the 1st (kept)": decided_case(app, "pleie-omsorg", UUID(int=110), **born(1)),
        "care, born on the 2nd (shred)": decided_case(
            app, "pleie-omsorg", UUID(int=111), **born(2)
        ),
    }


@pytest.fixture
def world(tmp_path: Path) -> Any:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    store = projection_store(settings)
    cases = some_cases(app)
    retention.catch_up(app, store)
    yield settings, app, store, cases
    store.db.close()
    app.close()


def statuses(app: Casework, cases: dict[str, UUID]) -> dict[str, str]:
    return {name: app.get_case(case_id).status.value for name, case_id in cases.items()}


def test_the_plan_is_what_a_run_does_and_keep_rules_keep(world: Any) -> None:
    settings, app, store, cases = world
    soon = date(2026, 5, 1)  # past the appeal period and the waste bin's 30 days
    early = {p.case_id: p.action for p in retention.plan(app, store, soon)}
    assert early == {
        cases["waste bin (shred, 30 days)"]: RetentionAction.SHRED,
        cases["consultation reply (archive)"]: RetentionAction.ARCHIVE,
    }
    later = date(2036, 6, 1)  # past two years, and the care cases' ten
    planned = list(retention.plan(app, store, later))
    done = retention.run(app, planned, retention.moment(later), numbers(settings))
    assert done == Counter(archived=3, shredded=3)
    archived = app.get_case(cases["consultation reply (archive)"]).archive_reference
    assert archived == "2026/1"  # saksår/sekvensnummer: the first case from 2026 archived
    assert statuses(app, cases) == {
        "waste bin (shred, 30 days)": "shredded",
        "consultation reply (archive)": "archived",
        "social help with children (kept)": "archived",
        "social help without children (shred)": "shredded",
        "care, born on the 1st (kept)": "archived",
        "care, born on the 2nd (shred)": "shredded",
    }
    became = {"archived": RetentionAction.ARCHIVE, "shredded": RetentionAction.SHRED}
    assert {p.case_id: p.action for p in planned} == {
        cases[name]: became[status] for name, status in statuses(app, cases).items()
    }
    retention.catch_up(app, store)
    assert list(retention.plan(app, store, later)) == []  # nothing left to do
    again = retention.run(app, planned, retention.moment(later), numbers(settings))
    assert again == Counter(duplicate=6)


def test_the_cli_prints_the_plan_and_acts_once(
    world: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world[0]
    for name, value in {
        "SQLITE_PATH": settings.sqlite_path,
        "PROJECTION_SQLITE_PATH": settings.projection_sqlite_path,
        "KEY_RING": settings.key_ring,
        "DOCUMENT_DIR": settings.document_dir,
    }.items():
        monkeypatch.setenv(f"SAKSFLYT_{name}", str(value))
    from saksflyt.cli import main

    capsys.readouterr()
    assert main(["retention", "run", "--dry-run", "--as-of", "2026-05-01"]) == 0
    plan_text = capsys.readouterr().out
    assert (
        "avfallsbeho" in plan_text and "horingssvar" in plan_text and "sosialhjelp" not in plan_text
    )
    assert main(["retention", "run", "--as-of", "2026-05-01"]) == 0
    assert "1 archived, 1 shredded" in capsys.readouterr().out
    assert main(["retention", "run", "--as-of", "2026-05-01"]) == 0
    assert "nothing due" in capsys.readouterr().out


def test_two_runs_at_once_on_postgresql_do_each_case_once(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    settings = postgres_settings(postgres_url, postgres_schema, tmp_path)
    first, second = bootstrap(settings), bootstrap(settings)
    store = projection_store(settings)
    try:
        cases = some_cases(first)
        retention.catch_up(first, store)
        later = date(2036, 6, 1)  # every policy due, the care cases' ten years too
        planned = list(retention.plan(first, store, later))
        results: list[Counter[str]] = []

        def run(app: Casework) -> None:
            results.append(retention.run(app, planned, retention.moment(later), numbers(settings)))

        runs = [threading.Thread(target=run, args=(app,)) for app in (first, second)]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join(timeout=120)
        total = results[0] + results[1]
        assert total["archived"] + total["shredded"] == len(cases) == total["duplicate"], total
        done = (Status.ARCHIVED, Status.SHREDDED)
        assert all(first.get_case(c).status in done for c in cases.values())
    finally:
        store.db.close()
        first.close()
        second.close()


def test_going_against_the_policy_needs_a_reason_which_is_recorded(
    client: TestClient, clock: FakeClock
) -> None:
    waste = new(client).json()["case_id"]
    children = {"husstand_antall": 3, "barn_antall": 1}
    form = {**synthetic.complete_form(random.Random(3), "sosialhjelp", "0301"), **children}
    kept = new(client, "sosialhjelp", form=form).json()["case_id"]
    decision = {"outcome": "granted", "legal_basis": "lov", "case_officer": "s"}
    for case in (waste, kept):
        assert client.post(f"/applications/{case}/decision", json=decision).status_code == 200
    clock.at(40)  # past the appeal period
    archived = client.post(f"/applications/{waste}/archive", json={"archive_reference": "2026/1"})
    assert archived.status_code == 409 and archived.json()["rule"] == "retention-policy-shred"
    shredded = client.post(f"/applications/{kept}/shred", json={})
    assert shredded.status_code == 409 and shredded.json()["rule"] == "retention-policy-keep"
    reason = "vedtak i arkivplan 2026/12: bevares som eksempel"
    body = {"archive_reference": "2026/1", "override_reason": reason}
    assert client.post(f"/applications/{waste}/archive", json=body).status_code == 200
    history = client.get(f"/applications/{waste}/events").json()
    assert history[-1]["type"] == "ApplicationArchived" and history[-1]["override_reason"] == reason
