"""The HTTP API on a real SQLite store: commands, errors, reads, idempotency, history."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from saksflyt.demo import synthetic
from tests.clock import FakeClock
from tests.send import project
from tests.stores import sqlite_settings
from tests.tokens import client as api_client
from tests.tokens import headers

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
PDF = synthetic.pdf("a synthetic test document")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    settings = sqlite_settings(tmp_path, max_attachment_bytes=1024)
    with api_client(settings, clock=clock) as test_client:
        yield test_client


def _draft(client: TestClient, service: str, form: dict[str, Any] | None = None) -> str:
    response = client.post(
        "/drafts",
        json={"service": service, "kommunenummer": "0301", "form": form or {}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def _upload(
    client: TestClient,
    case_id: str,
    kind: str,
    content: bytes = PDF,
    media_type: str = "application/pdf",
) -> Any:
    return client.post(
        f"/applications/{case_id}/attachments",
        data={"kind": kind},
        files={"file": (f"{kind}.pdf", content, media_type)},
    )


def test_a_building_case_through_the_api(client: TestClient, clock: FakeClock) -> None:
    form = synthetic.complete_form(random.Random(1), "melding-om-tiltak", "0301")
    case_id = _draft(client, "melding-om-tiltak", project(form))
    for kind in ("situasjonsplan", "tegninger"):
        uploaded = _upload(client, case_id, kind)
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["size"] == len(PDF)
    neighbour = {"matrikkelnummer": "0301-1/2", "navn": "Kari Nabo", "adresse": "Nabovegen 2"}
    steps = [  # pbl § 21-3: the neighbours first, the application after their consent
        (0.1, "neighbour-notice", {"neighbours": [neighbour]}),
        (0.5, "neighbour-consents", {"neighbour": "0301-1/2"}),
        (1, "submit", {"form": form}),
        (3, "decision", {"outcome": "granted", "legal_basis": "pbl § 20-4", "case_officer": "s"}),
    ]
    for days, path, body in steps:
        clock.at(days)
        response = client.post(f"/applications/{case_id}/{path}", json=body)
        assert response.status_code == 200, (path, response.text)
    assert response.json()["status"] == "decided"
    overview = client.get("/overview", params={"service": "melding-om-tiltak"}).json()
    assert [row["status"] for row in overview] == ["decided"]
    as_of = (T0 + timedelta(days=1.5)).isoformat()
    assert client.get(f"/applications/{case_id}", params={"as_of": as_of}).json()["status"] == (
        "submitted"
    )
    history = client.get(f"/applications/{case_id}/events").json()
    submitted = next(e for e in history if e["type"] == "ApplicationSubmitted")
    assert submitted["form_json"] == "[personal data]"
    assert form["tiltakshaver"]["fodselsnummer"] not in str(history)
    full = client.get(f"/applications/{case_id}/events", params={"include_personal_data": True})
    assert form["tiltakshaver"]["fodselsnummer"] in full.text


def test_submit_in_one_go_and_resend_with_the_same_idempotency_key(client: TestClient) -> None:
    form = synthetic.complete_form(random.Random(2), "avfallsbeholder", "0301")
    body = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": form}
    key = str(uuid4())
    first = client.post("/applications", json=body, headers={"Idempotency-Key": key})
    again = client.post("/applications", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["case_id"] == again.json()["case_id"]
    assert again.json()["duplicate"] is True
    assert len(client.get("/overview").json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "avfallsbeholder"}, "kommunenummer"),
        ({"service": "avfallsbeholder", "kommunenummer": "301"}, "kommunenummer"),
        ({"service": "avfallsbeholder", "kommunenummer": "0301", "at": "2026-01-01"}, "at"),
        ({"service": "avfallsbeholder", "kommunenummer": "0301", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_input_is_422_with_the_field_named(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/drafts", json=body)
    assert response.status_code == 422
    assert field in str(response.json()["errors"])


def test_an_incomplete_form_is_422_with_its_problems(client: TestClient) -> None:
    response = client.post(
        "/applications", json={"service": "avfallsbeholder", "kommunenummer": "0301", "form": {}}
    )
    assert response.status_code == 422
    assert "adresse: Field required" in response.json()["problems"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"service": "hundeskatt", "kommunenummer": "0301"}, "unknown service"),
        ({"service": "avfallsbeholder", "kommunenummer": "9999"}, "not a municipality"),
    ],
)
def test_unknown_service_or_municipality_is_422(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    response = client.post("/drafts", json=body)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_a_refused_step_is_409_naming_the_rule(client: TestClient) -> None:
    case_id = _draft(client, "avfallsbeholder")
    response = client.post(
        f"/applications/{case_id}/decision",
        json={"outcome": "granted", "legal_basis": "x", "case_officer": "y"},
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "not-allowed-in-status"
    assert "only allowed while the case is submitted" in response.json()["detail"]
    assert case_id in response.json()["detail"]


def test_a_refused_submission_without_attachments_is_409(client: TestClient) -> None:
    case_id = _draft(client, "ledsagerbevis")
    form = synthetic.complete_form(random.Random(3), "ledsagerbevis", "0301")
    response = client.post(f"/applications/{case_id}/submit", json={"form": form})
    assert response.status_code == 409
    assert "requires attachments ['foto', 'legeerklaering']" in response.json()["detail"]


def test_unknown_case_is_404(client: TestClient) -> None:
    assert client.get(f"/applications/{uuid4()}").status_code == 404
    assert client.get(f"/applications/{uuid4()}/events").status_code == 404
    response = client.post(f"/applications/{uuid4()}/withdrawal", json={"reason": "x"})
    assert response.status_code == 404
    assert _upload(client, str(uuid4()), "foto").status_code == 404


def test_attachment_limits(client: TestClient) -> None:
    case_id = _draft(client, "ledsagerbevis")
    assert _upload(client, case_id, "foto", b"x" * 2048).status_code == 413
    assert _upload(client, case_id, "foto", media_type="text/plain").status_code == 415
    assert _upload(client, case_id, "foto", b"").status_code == 422
    refused = _upload(client, case_id, "tegninger")
    assert refused.status_code == 409 and "takes no attachment of kind" in refused.json()["detail"]


def test_a_resent_upload_answers_the_attachment_it_stored(client: TestClient) -> None:
    case_id = _draft(client, "ledsagerbevis")
    key = {"Idempotency-Key": str(uuid4())}
    upload = {"data": {"kind": "foto"}, "files": {"file": ("foto.pdf", PDF, "application/pdf")}}
    first = client.post(f"/applications/{case_id}/attachments", headers=key, **upload)
    again = client.post(f"/applications/{case_id}/attachments", headers=key, **upload)
    assert first.status_code == again.status_code == 201
    assert again.json()["duplicate"] and not first.json()["duplicate"]
    assert again.json()["attachment_id"] == first.json()["attachment_id"]
    assert len(client.get(f"/applications/{case_id}").json()["attachments"]) == 1


def test_read_endpoints_filter_and_paginate(client: TestClient) -> None:
    for i in range(5):
        _draft(client, "avfallsbeholder" if i % 2 else "horingssvar")
    first = client.get("/overview", params={"limit": 2}).json()
    second = client.get("/overview", params={"limit": 2, "offset": 2}).json()
    assert len(first) == len(second) == 2 and first != second
    assert len(client.get("/overview", params={"service": "horingssvar"}).json()) == 3
    assert client.get("/overview", params={"limit": 0}).status_code == 422
    assert client.get("/overview", params={"municipality": "oslo"}).status_code == 422
    for path in ("/stats", "/deadlines", "/neighbours"):
        assert client.get(path).status_code == 200


def test_pages_say_how_many_rows_there_are_and_link_to_the_next(
    client: TestClient, clock: FakeClock
) -> None:
    for _ in range(5):
        _draft(client, "horingssvar")
    seen, url = [], "/overview?service=horingssvar&limit=2"
    while url:
        page = client.get(url)
        assert page.headers["x-total-count"] == "5"
        seen += page.json()
        link = page.headers.get("link", "")
        url = link[1 : link.index(">")].removeprefix("http://testserver") if link else ""
    assert len({row["case_id"] for row in seen}) == 5  # every row once, over three pages
    for day in (0, 1):  # submissions on two days: two rows of per-day stats
        clock.at(day)
        case_id = _draft(client, "avfallsbeholder")
        form = synthetic.complete_form(random.Random(day), "avfallsbeholder", "0301")
        assert (
            client.post(f"/applications/{case_id}/submit", json={"form": form}).status_code == 200
        )
    days = client.get("/stats", params={"per_day": "true", "limit": 1})
    assert days.headers["x-total-count"] == "2" and 'rel="next"' in days.headers["link"]
    with_status = {"per_day": "true", "status": "submitted"}  # stats have no status: ignored
    assert client.get("/stats", params=with_status).headers["x-total-count"] == "2"
    totals = client.get("/stats")
    assert (
        totals.headers["x-total-count"] == str(len(totals.json())) and "link" not in totals.headers
    )


def test_read_models_download_as_csv_and_parquet(client: TestClient) -> None:
    import pyarrow.parquet as pq

    for _ in range(3):
        _draft(client, "horingssvar")
    csv = client.get("/overview", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    lines = csv.text.splitlines()
    assert lines[0].startswith("case_id,") and len(lines) == 4
    parquet = client.get("/overview", params={"format": "parquet"})
    assert parquet.content[:4] == b"PAR1"
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 3


def test_health_readiness_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {
        "ready": True,
        "checks": {"event_store": "ok", "projections": "ok"},
        "warnings": ["development token key trusted (SAKSFLYT_AUTH_DEV_KEY)"],  # as in the tests
    }
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    document = client.get("/openapi.json").json()
    assert "/applications/{case_id}/decision" in document["paths"]
    assert document["info"]["version"] == metadata.version("saksflyt")  # one place: the package


def _commands_counted(client: TestClient, outcome: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == "saksflyt_commands_total"
        and sample.labels == {"command": "Decide", "outcome": outcome}
    )


def test_api_commands_are_counted_by_outcome(client: TestClient) -> None:
    case_id = _draft(client, "avfallsbeholder")
    before = _commands_counted(client, "rejected")
    body = {"outcome": "granted", "legal_basis": "x", "case_officer": "y"}
    assert client.post(f"/applications/{case_id}/decision", json=body).status_code == 409
    assert _commands_counted(client, "rejected") == before + 1


def test_a_draft_is_read_back_with_its_partial_saves_merged(client: TestClient) -> None:
    """Mellomlagring people can use: saving one field of a section keeps the others."""
    case_id = _draft(client, "avfallsbeholder", {"soker": {"navn": "Kari Nordmann"}})
    saved = client.post(
        f"/applications/{case_id}/draft", json={"form": {"soker": {"epost": "kari@example.org"}}}
    )
    assert saved.status_code == 200, saved.text
    draft = client.get(f"/applications/{case_id}/draft")
    assert draft.status_code == 200, draft.text
    assert draft.json()["form"]["soker"] == {"navn": "Kari Nordmann", "epost": "kari@example.org"}
    form = synthetic.complete_form(random.Random(4), "avfallsbeholder", "0301")
    del form["soker"]["navn"]  # the name saved earlier completes the form
    submitted = client.post(f"/applications/{case_id}/submit", json={"form": form})
    assert submitted.status_code == 200, submitted.text
    gone = client.get(f"/applications/{case_id}/draft")
    assert gone.status_code == 409 and gone.json()["rule"] == "not-a-draft"


def test_an_appeal_through_the_api_is_watched_until_the_deciding_body_has_reviewed_it(
    client: TestClient, clock: FakeClock
) -> None:
    """fvl § 33: the review has its own clock in the deadline watch; once sent on to the
    Statsforvalteren it is met, and the answer closes the case's appeal (fvl § 34)."""
    form = synthetic.complete_form(random.Random(5), "avfallsbeholder", "0301")
    made = client.post(
        "/applications", json={"service": "avfallsbeholder", "kommunenummer": "0301", "form": form}
    )
    case_id = made.json()["case_id"]
    decision = {
        "outcome": "refused",
        "legal_basis": "forurensningsloven § 30",
        "case_officer": "s",
        "facts": "no such bin size for this fraction",
        "considerations": "the regulation allows the listed sizes only",
    }
    assert client.post(f"/applications/{case_id}/decision", json=decision).status_code == 200
    clock.at(5)
    received = str((T0 + timedelta(days=5)).date())
    appealed = client.post(f"/applications/{case_id}/appeal", json={"received_on": received})
    assert appealed.status_code == 200 and appealed.json()["status"] == "appealed"
    (row,) = client.get("/overview", params={"service": "avfallsbeholder"}).json()
    assert (row["status"], row["appeal_status"]) == ("appealed", "received")
    watched = client.get("/deadlines").json()
    assert [(w["kind"], w["due"]) for w in watched if w["case_id"] == case_id] == [
        ("appeal-review", row["appeal_review_due"])
    ]
    clock.at(6)
    assert client.post(f"/applications/{case_id}/appeal-review", json={}).status_code == 200
    assert not [w for w in client.get("/deadlines").json() if w["case_id"] == case_id]
    clock.at(40)
    answer = client.post(f"/applications/{case_id}/appeal-result", json={"result": "upheld"})
    assert answer.status_code == 200 and answer.json()["status"] == "decided"
    (row,) = client.get("/overview", params={"service": "avfallsbeholder"}).json()
    assert row["appeal_status"] == "upheld"


def _samples(client: TestClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name == name
    }


def test_http_requests_are_counted_and_timed_by_route_never_by_case(client: TestClient) -> None:
    case_id = _draft(client, "horingssvar")
    client.get(f"/applications/{case_id}", headers={"Access-Purpose": "saksbehandling"})
    counted = _samples(client, "saksflyt_http_requests_total")
    routes = {dict(labels)["handler"] for labels in counted}
    assert "/applications/{case_id}" in routes and "/drafts" in routes
    assert not any(case_id in route for route in routes)
    timed = _samples(client, "saksflyt_http_request_duration_seconds_count")
    assert any(dict(labels)["handler"] == "/drafts" for labels in timed)


def test_the_decision_duration_is_a_histogram_in_seconds(
    client: TestClient, clock: FakeClock
) -> None:
    def buckets() -> dict[str, float]:
        samples = _samples(client, "saksflyt_decision_duration_seconds_bucket")
        return {
            dict(k)["le"]: v
            for k, v in samples.items()
            if dict(k)["service"] == "avfallsbeholder" and dict(k)["kommunenummer"] == "0301"
        }

    before = buckets()
    case_id = _draft(client, "avfallsbeholder")
    form = synthetic.complete_form(random.Random(3), "avfallsbeholder", "0301")
    assert client.post(f"/applications/{case_id}/submit", json={"form": form}).status_code == 200
    clock.at(3)  # decided three days after submission
    decision = {"outcome": "granted", "legal_basis": "forskrift", "case_officer": "sb"}
    assert client.post(f"/applications/{case_id}/decision", json=decision).status_code == 200
    grew = {le: n - before.get(le, 0) for le, n in buckets().items()}
    assert grew["86400.0"] == 0 and grew["259200.0"] == 1 and grew["+Inf"] == 1


def test_a_request_id_links_the_answer_to_its_log_lines(client: TestClient) -> None:
    """X-Request-ID: the proxy's when well-formed, else a new one; on the response, in problem
    details and on the log lines the request caused."""
    import logging

    from saksflyt.ops.logs import JsonFormatter

    given = {"X-Request-ID": "proxy-7f3a9c21"}
    assert client.get("/healthz", headers=given).headers["x-request-id"] == "proxy-7f3a9c21"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"})
    assert made.headers["x-request-id"] != "bad id; with spaces"
    assert len(made.headers["x-request-id"]) == 32
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("saksflyt.http.problems")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        refused = client.get("/services/hundeskatt", headers=given)
    finally:
        logger.removeHandler(handler)
    assert refused.json()["request_id"] == "proxy-7f3a9c21"
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    assert {"request_id": "proxy-7f3a9c21", "rule": "unknown-service", "outcome": 404}.items() <= (
        lines[-1].items()
    )


def test_read_endpoints_answer_what_their_openapi_schemas_say(tmp_path: Path) -> None:
    """Typed response models, generated from the read models' tables: real rows of a demo month
    validate against them (and a row with an unknown type does not)."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from consumers.delivery import InProcessDelivery
    from projections.store import ProjectionWriter
    from saksflyt.bootstrap import bootstrap, projection_store
    from saksflyt.demo.simulation import run_demo

    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    cases = run_demo(app, 120, seed=4).case_ids
    store = projection_store(settings)
    InProcessDelivery(app, [ProjectionWriter(store)]).deliver()
    store.db.close()
    app.close()
    with api_client(settings) as reader:
        document = reader.get("/openapi.json").json()
        registry = Registry().with_resource(
            "urn:api", Resource.from_contents(document, DRAFT202012)
        )

        def check(path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
            answer = reader.get(path, params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            route = path.replace(str(cases[0]), "{case_id}").replace("/", "~1")
            body = f"urn:api#/paths/{route}/get/responses/200/content/application~1json/schema"
            validator = jsonschema.Draft202012Validator({"$ref": body}, registry=registry)
            validator.validate(answer.json())
            return answer.json()

        rows = check("/overview", {"limit": 500})
        assert len(rows) == 120
        for path in ("/deadlines", "/neighbours", "/stats"):
            assert check(path, {"limit": 500}), path
        check(f"/applications/{cases[0]}", **{"Access-Purpose": "saksbehandling"})
        overview = {"$ref": "urn:api#/components/schemas/OverviewRow"}
        spoiled = {**rows[0], "paused_days": "many"}
        assert not jsonschema.Draft202012Validator(overview, registry=registry).is_valid(spoiled)


def test_the_dashboard_refuses_a_municipality_outside_the_token(tmp_path: Path) -> None:
    """As the read models do: a filter never reaches past the caller's municipalities."""
    settings = sqlite_settings(tmp_path)
    with api_client(settings) as client:
        client.headers.update(headers(settings, kommuner={"0301"}))
        assert client.get("/dashboard", params={"kommune": "0301"}).status_code == 200
        outside = client.get("/dashboard", params={"kommune": "4601"})
        assert outside.status_code == 403 and outside.json()["rule"] == "outside-scope"


def test_the_case_officer_is_the_name_the_identity_provider_gives(tmp_path: Path) -> None:
    """A vedtak records the caller's name claim as its case officer (what the letter and the
    archive's saksansvarlig show), whatever the body says; without one, the body's."""
    settings = sqlite_settings(tmp_path)
    form = synthetic.complete_form(random.Random(8), "avfallsbeholder", "0301")
    new_case = {"service": "avfallsbeholder", "kommunenummer": "0301", "form": form}
    with api_client(settings) as client:
        officers = []
        for name in ("Kari Saksbehandler", None):
            case_id = client.post("/applications", json=new_case).json()["case_id"]
            said = headers(settings, name=name) if name else {}
            body = {
                "outcome": "granted",
                "legal_basis": "forurensningsloven § 30",
                "case_officer": "k1",
            }
            decided = client.post(f"/applications/{case_id}/decision", json=body, headers=said)
            assert decided.status_code == 200, decided.text
            officers.append(
                client.get(f"/applications/{case_id}").json()["decision"]["case_officer"]
            )
    assert officers == ["Kari Saksbehandler", "k1"]
