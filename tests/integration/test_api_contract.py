"""What a schema-driven client (schemathesis, a generated SDK) holds the API to: a 405 says what is
allowed, a day is a day, a header is never "null", and the document says which Access-Purpose is
required of whom."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def test_a_405_names_the_methods_allowed(client: TestClient) -> None:
    answer = client.delete("/overview")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET"
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "route", ["/overview", "/stats", "/deadlines", "/neighbours", "/dashboard"]
)
def test_a_day_is_written_as_a_day_not_a_number(client: TestClient, route: str) -> None:
    name = "til" if route == "/dashboard" else "to"
    assert client.get(route, params={name: "0"}).status_code == 422
    assert client.get(route, params={name: "2026-03-02"}).status_code == 200


def _parameters(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for path in document["paths"].values() for op in path.values()
            for p in op.get("parameters", [])]  # fmt: skip


def test_no_header_or_query_parameter_may_be_null(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for parameter in _parameters(document):
        schema = parameter["schema"]
        assert "null" not in str(schema.get("anyOf", "")), parameter
    keys = [p for p in _parameters(document) if p["name"] == "Idempotency-Key"]
    assert keys and all(k["schema"]["format"] == "uuid" for k in keys)


def test_the_letters_route_says_staff_must_state_a_purpose(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/applications/{case_id}/messages"]["get"]
    (purpose,) = [p for p in operation["parameters"] if p["name"] == "Access-Purpose"]
    assert not purpose["required"] and "Required of staff" in purpose["description"]
    assert "422" in operation["responses"]
