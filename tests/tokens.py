"""Bearer tokens for API tests, minted with a development key kept in the test's folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from saksflyt.access.policy import Principal, Role
from saksflyt.access.tokens import mint
from saksflyt.demo.simulation import MUNICIPALITIES
from saksflyt.http.app import create_app
from saksflyt.settings import Settings

# Every role, every municipality the tests and the demo use: for tests about something else.
EVERY_ROLE = frozenset(Role)
TEST_MUNICIPALITIES = frozenset({*MUNICIPALITIES, "3001", "3101", "9999"})
PURPOSE = "saksbehandling"


def token(
    settings: Settings,
    roles: frozenset[Role] | set[Role] = EVERY_ROLE,
    kommuner: frozenset[str] | set[str] = TEST_MUNICIPALITIES,
    sub: str = "test-user",
    lifetime: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    **limits: Any,
) -> str:
    who = Principal(sub, frozenset(roles), frozenset(kommuner), **limits)
    return mint(settings, who, now or datetime.now(UTC), lifetime)


def headers(settings: Settings, **claims: Any) -> dict[str, str]:
    """Authorization (every role unless told) and a stated purpose for reads of whole cases."""
    return {"Authorization": f"Bearer {token(settings, **claims)}", "Access-Purpose": PURPOSE}


def client(settings: Settings, **kwargs: Any) -> TestClient:
    """A test client that sends a token with every role (use as a context manager)."""
    return TestClient(create_app(settings, **kwargs), headers=headers(settings))
