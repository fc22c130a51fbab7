"""schemathesis against /openapi.json: whatever it sends, alone or in linked sequences (OpenAPI
links from a new case to every step on it), the API never answers 5xx, and every status it
answers, with its media type and body, is one the document declares."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.places import municipalities
from saksflyt.http.app import create_app
from saksflyt.http.services import Services
from tests.stores import sqlite_settings
from tests.tokens import headers

pytestmark = pytest.mark.slow  # not in make test-fast

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)

# schemathesis builds its tests at collection time, so the app (on a throwaway store) is built here.
_tmp = Path(tempfile.mkdtemp(prefix="saksflyt-fuzz-"))
# exports on: the official Noark 5 schemas from the shared folder (as test_noark5_export reads them)
_shared = Path(os.environ.get("SAKSFLYT_SHARED_DIR", Path(__file__).parents[3] / "shared"))
_settings = sqlite_settings(_tmp, noark5_schemas=_shared / "noark5", export_dir=_tmp / "exports")
app = create_app(_settings)
# ready even if the test client skips the lifespan
app.state.services = Services(_settings, lambda: datetime.now(UTC))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# A valid token with every role in every municipality, so requests get past the door and reach
# the rules (access control itself is tested cell by cell in test_access_control.py).
AUTHORIZED = headers(_settings, kommuner=set(municipalities()))
answered: Counter[int] = Counter()  # status classes seen: the token let requests through


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_with_5xx(case: schemathesis.Case) -> None:
    answered[case.call_and_validate(checks=CHECKS, headers=AUTHORIZED).status_code // 100] += 1


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"headers": AUTHORIZED}

    def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
        answered[response.status_code // 100] += 1
        case.validate_response(response, checks=CHECKS)


TestLinkedSequences = Workflow.TestCase
TestLinkedSequences.settings = settings(
    max_examples=40,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_fuzzers_requests_got_past_the_door() -> None:
    """Runs after the two above (file order): with a valid token, requests reach the rules."""
    assert answered[2] > 10, answered
