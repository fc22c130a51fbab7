"""The dashboard in a real headless Chromium: it loads, and the charts show the read models' numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from consumers.delivery import InProcessDelivery
from projections import queries
from projections.store import ProjectionWriter
from saksflyt.access.policy import Role
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.demo.simulation import HORIZON, run_demo
from saksflyt.http.app import create_app
from saksflyt.settings import Settings
from tests.browser import ARTIFACTS, browse
from tests.browser import served as serving
from tests.stores import sqlite_settings
from tests.tokens import token

pytestmark = pytest.mark.slow  # not in make test-fast


class AuthenticatingProxy:
    """What sits in front of the dashboard in a municipality (e.g. oauth2-proxy): it signs the
    person in and adds their bearer token to each request the browser makes."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.header = app, (b"authorization", f"Bearer {token}".encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    tmp = tmp_path_factory.mktemp("dashboard")
    settings = sqlite_settings(tmp)
    app = bootstrap(settings)
    run_demo(app, 600, seed=5)
    store = projection_store(settings)
    InProcessDelivery(app, [ProjectionWriter(store)]).deliver()
    store.db.close()
    app.close()
    proxy = AuthenticatingProxy(create_app(settings), token(settings, roles={Role.ANALYST}))
    with serving(proxy) as url:
        yield url, settings


def _values(dom: str, chart: str) -> dict[str, float]:
    svg = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.S)
    assert svg, f"chart {chart} not rendered"
    return {
        label: float(value)
        for label, value in re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', svg[0])
    }


def _expected(settings: Settings) -> dict[str, Any]:
    store = projection_store(settings)
    totals = queries.stats(store.db, queries.Filters(limit=1000), group_by_day=False)
    late: dict[str, float] = {}
    for row in totals:
        late[row["service"]] = late.get(row["service"], 0) + row["decided_past_deadline"]
    overdue: dict[str, float] = {}
    for (service, _), n in queries.past_decision_deadline(store.db, HORIZON.date()).items():
        overdue[service] = overdue.get(service, 0) + n
    expected = {
        "backlog": {k: float(v) for k, v in queries.backlog(store.db).items()},
        "overdue": overdue,
        "late": {k: v for k, v in late.items() if v},
        "weeks": len(queries.decisions_by_week(store.db, queries.Filters())),
        "neighbours": len(queries.open_neighbour_periods(store.db, HORIZON.date())),
    }
    store.db.close()
    return expected


def test_the_dashboard_renders_the_read_models_numbers(
    served: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = served
    dom = browse("--dump-dom", f"{url}/dashboard", profile=tmp_path / "profile").stdout
    expected = _expected(settings)
    assert f"Per {HORIZON.date():%d.%m.%Y}" in dom and '<html lang="nb">' in dom
    assert _values(dom, "backlog") == expected["backlog"] and expected["backlog"]
    assert _values(dom, "past-deadline") == expected["overdue"]
    assert _values(dom, "late-decisions") == expected["late"]
    assert len(re.findall(r'class="point[ "]', dom)) == expected["weeks"] > 1
    assert "Søknad om tiltak uten ansvarsrett" in dom  # names, not codes
    assert 'http-equiv="refresh"' in dom and len(re.findall(r'class="query" href="/', dom)) == 5
    shown = re.search(r'id="open-neighbour-periods" data-value="(\d+)"', dom)
    assert shown and int(shown[1]) == expected["neighbours"] > 0


def test_the_filters_narrow_every_figure(served: tuple[str, Settings], tmp_path: Path) -> None:
    url, settings = served
    page = f"{url}/dashboard?service=melding-om-tiltak&kommune=0301"
    dom = browse("--dump-dom", page, profile=tmp_path / "profile").stdout
    store = projection_store(settings)
    scope = queries.Scope(("0301",), ("melding-om-tiltak",))
    backlog = {k: float(v) for k, v in queries.backlog(store.db, scope).items()}
    store.db.close()
    assert _values(dom, "backlog") == backlog and list(backlog) == ["melding-om-tiltak"]
    assert re.search(r'<option value="0301" selected(="")?>Oslo</option>', dom)
    assert "service=melding-om-tiltak&amp;municipality=0301" in dom  # the links keep the filters


def test_a_screenshot_is_saved_as_an_artifact(served: tuple[str, Settings], tmp_path: Path) -> None:
    url, _ = served
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "dashboard.png"
    target.unlink(missing_ok=True)
    browse(
        f"--screenshot={target}",
        f"{url}/dashboard?as_of={date(2026, 11, 20)}",
        profile=tmp_path / "profile",
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 20_000  # a page with charts, not a blank one
