"""schemathesis against /openapi.json: whatever it sends, the API never answers 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from saksflyt.http.app import create_app
from saksflyt.http.services import Services
from tests.stores import sqlite_settings

# schemathesis builds its tests at collection time, so the app (on a throwaway store) is built here.
_tmp = Path(tempfile.mkdtemp(prefix="saksflyt-fuzz-"))
_settings = sqlite_settings(_tmp)
app = create_app(_settings)
app.state.services = Services(_settings)  # ready even if the test client skips the lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_with_5xx(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
