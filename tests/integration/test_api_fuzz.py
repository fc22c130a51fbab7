"""schemathesis against /openapi.json: whatever it sends, alone or in linked sequences (OpenAPI
links from a new case to every step on it), the API never answers 5xx, and every status it
answers, with its media type and body, is one the document declares."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from saksflyt.http.app import create_app
from saksflyt.http.services import Services
from tests.stores import sqlite_settings

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)

# schemathesis builds its tests at collection time, so the app (on a throwaway store) is built here.
_tmp = Path(tempfile.mkdtemp(prefix="saksflyt-fuzz-"))
_settings = sqlite_settings(_tmp)
app = create_app(_settings)
# ready even if the test client skips the lifespan
app.state.services = Services(_settings, lambda: datetime.now(UTC))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_with_5xx(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
        case.validate_response(response, checks=CHECKS)


TestLinkedSequences = Workflow.TestCase
TestLinkedSequences.settings = settings(
    max_examples=40,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
