"""/docs and /redoc work on a machine without internet: Swagger UI and ReDoc come from files
installed with the package (fastapi-offline), and headless Chromium renders the operations."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from saksflyt.http.app import create_app
from tests.browser import browse
from tests.stores import sqlite_settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(sqlite_settings(tmp_path_factory.mktemp("docs")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


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
