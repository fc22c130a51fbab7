"""The event log for process mining, as analysts get it: ``GET /eventlog`` and ``saksflyt export
eventlog``, XES and OCEL 2.0, read back by pm4py; within the caller's municipalities; roles and
case ids only — the synthetic applicants' names, numbers and addresses appear nowhere in it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pm4py  # a test dependency: make test installs it
import pytest
from fastapi.testclient import TestClient

from saksflyt import eventlog
from saksflyt.access.policy import Role
from saksflyt.bootstrap import bootstrap
from saksflyt.demo.simulation import run_demo
from saksflyt.http.app import create_app
from saksflyt.settings import Settings
from tests.integration.test_privacy import leaks, personal_values
from tests.stores import sqlite_settings
from tests.tokens import token

CASES = 120


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = sqlite_settings(tmp_path_factory.mktemp("eventlog"))
    app = bootstrap(settings)
    run_demo(app, CASES, seed=5)
    app.close()
    yield settings


def _analyst(settings: Settings, *kommuner: str) -> TestClient:
    who = token(settings, roles={Role.ANALYST}, kommuner=set(kommuner))
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {who}"})


def _read_xes(data: bytes, folder: Path) -> Any:
    path = folder / "log.xes"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(str(path), show_progress_bar=False)


def test_an_analyst_gets_the_cases_of_their_municipality_as_xes(
    store: Settings, tmp_path: Path
) -> None:
    with _analyst(store, "0301") as client:
        response = client.get("/eventlog", params={"format": "xes"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        assert 'filename="saksflyt-alle-kommuner.xes"' in response.headers["content-disposition"]
        frame = _read_xes(response.content, tmp_path)
        assert set(frame["case:saksflyt:kommunenummer"]) == {"0301"}
        assert {"concept:name", "time:timestamp", "lifecycle:transition", "org:role"} <= set(frame)
        assert set(frame["lifecycle:transition"]) == {"complete"}
        assert {"søker", "saksbehandler", "saksflyt"} <= set(frame["org:role"])
        assert "Sende inn" in set(frame["concept:name"])
        outside = client.get("/eventlog", params={"municipality": "4601"})
        assert outside.status_code == 403 and outside.json()["rule"] == "outside-scope"
        unknown = client.get("/eventlog", params={"service": "no-such"})
        assert unknown.status_code == 422
        wrong = client.get("/eventlog", params={"format": "csv"})
        assert wrong.status_code == 422
    with TestClient(create_app(store)) as anonymous:
        assert anonymous.get("/eventlog").status_code == 401


def test_ocel_2_relates_each_event_to_its_case_and_attachments(
    store: Settings, tmp_path: Path
) -> None:
    with _analyst(store, "0301", "4601", "5001", "5501") as client:
        response = client.get("/eventlog", params={"format": "ocel", "service": "ledsagerbevis"})
    assert response.status_code == 200, response.text
    document = json.loads(response.content)
    cases = {o["id"] for o in document["objects"] if o["type"] == "søknad"}
    assert cases and all(
        any(r["qualifier"] == "case" and r["objectId"] in cases for r in e["relationships"])
        for e in document["events"]
    )
    path = tmp_path / "log.jsonocel"
    path.write_bytes(response.content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ocel = pm4py.read_ocel2_json(str(path))
    assert set(ocel.objects["ocel:type"]) == {"søknad", "vedlegg"}
    assert len(ocel.events) == len(document["events"])


def _export(store: Settings, service: str, out: Path) -> subprocess.CompletedProcess[str]:
    """``saksflyt export eventlog`` as a person runs it, on the test's store."""
    env = {
        "SAKSFLYT_SQLITE_PATH": str(store.sqlite_path),
        "SAKSFLYT_KEY_RING": str(store.key_ring),
        "PATH": str(Path(sys.executable).parent),
    }
    command = ["saksflyt", "export", "eventlog", "--service", service, "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_the_command_writes_the_log_and_refuses_a_service_it_does_not_know(
    store: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "gravemelding.xes"
    done = _export(store, "gravemelding", out)
    assert done.returncode == 0, done.stderr
    frame = _read_xes(out.read_bytes(), tmp_path)
    assert set(frame["case:saksflyt:service"]) == {"gravemelding"}
    assert f"events written to {out} (xes)" in done.stdout
    refused = _export(store, "graving", out)
    assert refused.returncode == 2 and "unknown service 'graving'" in refused.stderr


def test_no_personal_value_is_in_the_event_log(store: Settings) -> None:
    app = bootstrap(store)
    forms = [app.get_case(UUID(case.case_id)).form for case in eventlog.traces(app)]
    values = personal_values(forms)
    assert len(values) > 50
    blobs = []
    for fmt in eventlog.FORMATS:
        out = io.BytesIO()
        eventlog.write(out, eventlog.traces(app), fmt)
        blobs.append(out.getvalue())
    assert leaks(values, blobs) == set()
    app.close()
