"""Shared fixtures: services from the environment, synthetic data, time helpers.

Under CI=true a test that needs PostgreSQL fails when it is missing; elsewhere it is skipped with
the reason, so a developer without servers can still run the unit tests.
"""

from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from consumers.topics import Topics, ensure_topics
from domain.casework import Casework
from domain.lifecycle import OSLO
from saksflyt.bootstrap import bootstrap
from saksflyt.settings import Settings
from tests import needs
from tests.pdfa import Preflight
from tests.stores import postgres_settings, sqlite_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return needs.env("SAKSFLYT_TEST_POSTGRES_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return needs.env("SAKSFLYT_TEST_KAFKA", "Apache Kafka")


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    """Fresh topics for one test, created the way `saksflyt topics ensure` creates them."""
    names = Topics(prefix=f"t{uuid.uuid4().hex[:10]}")
    ensure_topics(kafka_bootstrap, names)
    return names


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The operator's shared material (Noark 5 schemas, the 2024 municipality list)."""
    path = Path(os.environ.get("SAKSFLYT_SHARED_DIR", REPO.parent / "shared"))
    if not path.is_dir():
        needs.missing(f"shared material at {path}", "set SAKSFLYT_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def preflight() -> Preflight:
    """Apache PDFBox Preflight, the PDF/A-1b validator (``make test`` fetches it)."""
    return Preflight(Path(needs.env("SAKSFLYT_TEST_PDFA_VALIDATOR", "the PDF/A validator")))


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20260317)


@pytest.fixture
def t0() -> datetime:
    """A Monday morning in Oslo, far from holidays."""
    return datetime(2026, 3, 2, 9, 0, tzinfo=OSLO)


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema per test, so tests never see each other's events."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The same behaviour tests run against both event stores."""
    if request.param == "sqlite":
        return sqlite_settings(tmp_path)
    url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("postgres_schema")
    return postgres_settings(url, schema, tmp_path)


@pytest.fixture
def casework(store_settings: Settings) -> Iterator[Casework]:
    app = bootstrap(store_settings)
    yield app
    app.close()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the Kafka broker is marked ``kafka``: ``make test-fast`` starts no broker
    and leaves them out (``make test`` runs them).

    Node ids must be unique: pytest-xdist (``make test``) keys its work by them, and of tests
    that share one all but one go unrun. schemathesis (under pytest 9) gives the test of every
    API operation the same id, the operation only in its name: each gets its operation as its
    id's parameters, as a parametrized test would. A duplicate left is a usage error."""
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
        operation = getattr(item, "operation_label", None)
        if operation is not None and item._id.params is None:
            item._id = item._id.with_params(operation)
    twice = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if twice:
        raise pytest.UsageError(f"tests that share a node id (xdist would run one): {twice[:5]}")
