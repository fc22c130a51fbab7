"""A storm of random but schema-valid commands — extreme and adversarial dates, strings and
numbers — through the HTTP API and the Kafka intake on one throwaway store. Whatever they say:
no 5xx, the server restarts, every stored event projects, and a rebuild equals the live read
models row for row."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.intake import CommandIntake
from consumers.runner import ConsumerRunner
from consumers.topics import Topics
from domain.casework import Casework
from projections.store import ProjectionStore
from saksflyt import rebuild
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo import synthetic
from saksflyt.settings import Settings
from schemas.mapping import COMMAND_TYPES
from schemas.registry import default_registry
from tests.avro_strategies import records
from tests.kafka_helpers import CODEC, intake_runner, read_topic
from tests.stores import read_model_tables, sqlite_settings
from tests.tokens import client as api_client

SERVICES = ["avfallsbeholder", "melding-om-tiltak", "sosialhjelp", "ledsagerbevis", "horingssvar"]
NOW = datetime.now(UTC)
EXTREME_TIMES = st.sampled_from(
    [
        datetime(1, 1, 1, 0, 30, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        NOW + timedelta(days=40),
        datetime(2999, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ]
) | st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
ALLOWED_TIMES = st.sampled_from(
    [datetime(2000, 1, 1, tzinfo=UTC), NOW - timedelta(days=400), NOW - timedelta(minutes=1)]
) | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=NOW.replace(tzinfo=None), timezones=st.just(UTC)
)
TIMES = st.one_of(ALLOWED_TIMES, ALLOWED_TIMES, ALLOWED_TIMES, EXTREME_TIMES).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
EXTREME_TEXT = st.sampled_from(["", " ", "ø" * 300, "\u0000", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a" * 2100]) | st.text(
    max_size=30
)
TEXT = st.sampled_from(["Storgata 1", "0301-1/2", "pbl § 20-4", "sb-1"]) | EXTREME_TEXT
NAMES = st.sampled_from(
    ["StartApplication"] * 4 + ["SubmitApplication"] * 2 + sorted(COMMAND_TYPES)
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def forms(draw: st.DrawFn, service: str | None = None) -> dict[str, Any]:
    """A complete form of the service, or one with a field spoiled."""
    service = service or draw(st.sampled_from(SERVICES))
    good = synthetic.complete_form(draw(st.randoms(use_true_random=False)), service, "0301")
    if draw(st.integers(0, 3)) > 0:
        return good
    key = draw(st.sampled_from(sorted(good)))
    return {**good, key: draw(JSONISH)}


@st.composite
def kafka_records(draw: st.DrawFn, cases: list[uuid.UUID]) -> tuple[str, dict[str, Any]]:
    """A command record the schema accepts, with adversarial values where the schema allows."""
    name = draw(NAMES)
    record = draw(records(default_registry().latest(name).raw))
    record.update(command_id=uuid.uuid4(), case_id=draw(st.sampled_from(cases)))
    record["issued_at"] = draw(TIMES)
    for field, value in record.items():
        if isinstance(value, str) and field not in ("issued_by",):
            record[field] = draw(TEXT)
    if "service" in record:
        record["service"] = draw(st.sampled_from([*SERVICES, *SERVICES, "hundeskatt"]))
    if "form_json" in record:
        service = record.get("service")
        form = draw(forms(service if service in SERVICES else None) | JSONISH)
        if name == "SubmitApplication" and draw(st.booleans()):
            form = {}  # the draft holds the form already
        good = draw(st.integers(0, 5)) > 0
        record["form_json"] = json.dumps(form, allow_nan=True) if good else "{oops"
    if "kommunenummer" in record:
        record["kommunenummer"] = draw(st.sampled_from(["0301"] * 6 + ["3001", "０３０１"]))
    if "outcome" in record:
        record["outcome"] = draw(st.sampled_from(["granted", "granted", "refused", "maybe"]))
    if "expected_by" in record:
        record["expected_by"] = draw(
            st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
        )
    return name, record


ROUTES = [
    "draft",
    "submit",
    "neighbour-notice",
    "neighbour-comments",
    "neighbour-consents",
    "missing-documents",
    "resume",
    "preliminary-reply",
    "decision",
    "withdrawal",
    "archive",
    "shred",
]


@st.composite
def http_requests(draw: st.DrawFn, cases: list[uuid.UUID]) -> tuple[str, str]:
    """(path, raw JSON body): mostly well-formed, with adversarial values in them."""
    case_id = draw(st.sampled_from(cases))
    body: dict[str, Any] = {}
    route = draw(st.sampled_from(["/applications", "/drafts", *ROUTES]))
    if route in ("/applications", "/drafts"):
        body = {"service": draw(st.sampled_from(SERVICES)), "kommunenummer": "0301"}
        body.update(form=draw(forms(body["service"])), case_id=str(case_id))
        path = route
    else:
        path = f"/applications/{case_id}/{route}"
        body = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "form": forms(),
                    "neighbours": st.lists(TEXT, max_size=3),
                    "neighbour": TEXT,
                    "objection": st.booleans(),
                    "kinds": st.lists(st.sampled_from(["foto", "lonnsslipp", "x"]), max_size=2),
                    "reason": TEXT,
                    "expected_by": st.dates().map(str),
                    "outcome": st.sampled_from(["granted", "refused"]),
                    "legal_basis": TEXT,
                    "case_officer": TEXT,
                    "archive_reference": TEXT,
                },
            )
        )
    if route in ("/applications", "submit") and draw(st.booleans()):
        body["signed_at"] = draw(TIMES).isoformat()
    if draw(st.integers(0, 9)) == 0:
        body["nested"] = draw(JSONISH)
    if draw(st.integers(0, 9)) == 0:
        body.setdefault("form", {})["tekst"] = "\ud800"
    return path, json.dumps(body, allow_nan=True, ensure_ascii=True)


@st.composite
def lifecycle(draw: st.DrawFn, case_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    """One case's commands in a plausible order, with some times, dates and texts spoiled."""
    service = draw(st.sampled_from(["avfallsbeholder", "horingssvar", "sosialhjelp"]))
    at = draw(ALLOWED_TIMES).replace(microsecond=0)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("StartApplication", {"service": service, "kommunenummer": "0301", "form_json": None}),
        ("SubmitApplication", {"form_json": None}),
    ]
    steps.append(
        draw(
            st.sampled_from(
                [
                    (
                        "Decide",
                        {"outcome": "granted", "legal_basis": "lov § 1", "case_officer": "sb"},
                    ),
                    ("Withdraw", {"reason": "trekker"}),
                    ("RequestMissingDocuments", {"kinds": ["lonnsslipp"], "reason": "mangler"}),
                ]
            )
        )
    )
    days = draw(st.sampled_from([-1, 1, 30, 400, 2_000_000]))
    steps.append(("SendPreliminaryReply", {"reason": "tar tid", "expected_by": days}))
    steps.append(
        draw(st.sampled_from([("Archive", {"archive_reference": "0301-1"}), ("Shred", {})]))
    )
    out = []
    for name, fields in steps:
        at += timedelta(days=draw(st.sampled_from([0.01, 1, 25])))
        issued = draw(EXTREME_TIMES) if draw(st.integers(0, 6)) == 0 else at
        record = {
            "command_id": uuid.uuid4(),
            "case_id": case_id,
            "issued_at": issued,
            "issued_by": "x",
        }
        record.update(fields)
        if "form_json" in record:
            record["form_json"] = (
                json.dumps(draw(forms(service))) if name.startswith("Start") else None
            )
        if name == "SendPreliminaryReply":
            record["expected_by"] = min(
                date(9999, 12, 31), at.date() + timedelta(days=min(days, 2_900_000))
            )
        for key in ("reason", "legal_basis", "archive_reference"):
            if key in record and draw(st.integers(0, 4)) == 0:
                record[key] = draw(EXTREME_TEXT)
        out.append((name, record))
    return out


@st.composite
def storms(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[tuple[str, dict[str, Any]]]]:
    """HTTP requests and Kafka commands about a few new cases, the Kafka ones mostly in order."""
    cases = [uuid.uuid4() for _ in range(3)]  # new each time: Hypothesis would reuse its own
    http = draw(st.lists(http_requests(cases), min_size=3, max_size=12))
    noise = draw(st.lists(kafka_records(cases), min_size=1, max_size=6))
    kafka = [c for case in cases[:2] for c in draw(lifecycle(case))]
    kafka = draw(st.permutations(noise + kafka)) if draw(st.integers(0, 4)) == 0 else kafka + noise
    return http, kafka


@dataclass
class World:
    settings: Settings
    client: TestClient
    app: Casework
    intake: CommandIntake
    runner: ConsumerRunner
    producer: Any
    topics: Topics


@pytest.fixture
def world(tmp_path: Path, kafka_bootstrap: str, topics: Topics) -> Iterator[World]:
    settings = sqlite_settings(tmp_path)
    app = bootstrap(settings)
    intake, runner = intake_runner(app, kafka_bootstrap, topics, "storm")
    with api_client(settings) as client:
        yield World(settings, client, app, intake, runner, intake.producer, topics)
    runner.consumer.close()
    app.close()


def _through_kafka(world: World, commands: list[tuple[str, dict[str, Any]]]) -> None:
    for name, record in commands:
        world.producer.send(
            world.topics.commands,
            key=str(record["case_id"]).encode(),
            value=CODEC.encode(name, record),
        )
    world.producer.flush()
    stop, expected = (
        threading.Event(),
        world.runner.stats.handled + world.runner.stats.dead_lettered + len(commands),
    )
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while world.runner.stats.handled + world.runner.stats.dead_lettered < expected:
        assert datetime.now(UTC) < deadline, "the intake stopped taking commands"
        world.runner.poll_once(stop)


def _quarantined(store: ProjectionStore) -> int:
    return int(store.db.rows("SELECT COUNT(*) AS n FROM projection_dead_letters")[0]["n"])


@pytest.mark.slow
def test_a_storm_of_commands_never_poisons_the_store(world: World) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(storms())
    def storm(story: tuple[list[tuple[str, str]], list[tuple[str, dict[str, Any]]]]) -> None:
        http, kafka = story
        for path, raw in http:
            response = world.client.post(
                path, content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code < 500, (path, response.text)
        _through_kafka(world, kafka)

    storm()
    assert world.runner.stats.dead_lettered == 0, "schema-valid commands are refused, not dead"
    assert world.intake.stats.accepted > 20 and world.intake.stats.rejected > 20, world.intake.stats
    stored = world.app.recorder.max_notification_id() or 0
    with api_client(world.settings) as restarted:  # the server starts again
        assert restarted.get("/overview").status_code == 200
        restarted.post("/drafts", json={"service": "horingssvar", "kommunenummer": "0301"})
    store = projection_store(world.settings)
    assert _quarantined(store) == 0, "every stored event projects"
    status = store.db.rows("SELECT * FROM projection_status", table="projection_status")[0]
    store.db.close()
    assert status["events_applied"] == (world.app.recorder.max_notification_id() or 0) >= stored
    live = read_model_tables(world.settings)
    app = bootstrap(world.settings)
    rebuild.rebuild(world.settings, rebuild.StoreSource(app))
    app.close()
    assert read_model_tables(world.settings) == live


@pytest.mark.parametrize(
    ("issued_at", "rule"),
    [
        (datetime(9999, 12, 1, tzinfo=UTC), "time-in-the-future"),
        (datetime(1, 1, 1, 0, 30, tzinfo=UTC), "time-too-early"),
        (NOW + timedelta(days=40), "time-in-the-future"),
    ],
)
def test_a_sender_time_out_of_bounds_is_rejected_on_kafka_with_its_rule(
    world: World, kafka_bootstrap: str, issued_at: datetime, rule: str
) -> None:
    case_id = uuid.uuid4()
    form = synthetic.complete_form(random.Random(1), "avfallsbeholder", "0301")
    start = {
        "command_id": uuid.uuid4(),
        "case_id": case_id,
        "issued_at": issued_at,
        "issued_by": "fagsystem",
        "service": "avfallsbeholder",
        "kommunenummer": "0301",
        "form_json": json.dumps(form),
    }
    _through_kafka(world, [("StartApplication", start)])
    assert world.intake.stats.rejected == 1 and not world.app.exists(case_id)
    rejected = read_topic(kafka_bootstrap, world.topics.rejected, lambda r: len(r) >= 1)
    assert CODEC.decode(rejected[0].value).record["rule"] == rule
    _through_kafka(
        world, [("StartApplication", {**start, "command_id": uuid.uuid4(), "issued_at": NOW})]
    )
    assert world.app.get_case(case_id).status.value == "draft"
