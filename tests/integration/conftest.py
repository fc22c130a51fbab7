"""Fixtures of the API tests: a throwaway embedded store, a clock the test moves, a client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from saksflyt.settings import Settings
from tests.clock import FakeClock
from tests.stores import sqlite_settings
from tests.tokens import client as api_client

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path, max_attachment_bytes=4096)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with api_client(settings, clock=clock) as test_client:
        yield test_client
