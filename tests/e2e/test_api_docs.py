"""/docs and /redoc work on a machine without internet: Swagger UI and ReDoc come from files
installed with the package (fastapi-offline), and headless Chromium renders the operations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from saksflyt.http.app import create_app
from tests.browser import browse
from tests.browser import served as serving
from tests.stores import sqlite_settings

pytestmark = pytest.mark.slow  # not in make test-fast


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(create_app(sqlite_settings(tmp_path_factory.mktemp("docs")))) as url:
        yield url


def _external(html: str) -> list[str]:
    """Resources the page loads from elsewhere (scripts, images, style sheets; not links)."""
    loads = re.findall(r'src="(https?://[^"]+)"', html)
    loads += re.findall(r'<link[^>]+href="(https?://[^"]+)"', html)
    return [u for u in loads if "127.0.0.1" not in u]


@pytest.mark.parametrize(
    ("page", "rendered"), [("docs", 'class="opblock'), ("redoc", "operation/")]
)
def test_the_api_docs_render_without_a_cdn(
    served: str, page: str, rendered: str, tmp_path: Path
) -> None:
    dom = browse(
        "--virtual-time-budget=15000", "--dump-dom", f"{served}/{page}", profile=tmp_path / "p"
    ).stdout
    assert not _external(dom), _external(dom)
    assert dom.count(rendered) > 20, f"{page} did not render the operations"  # ~60 of them
