"""Debian's Chromium, headless, as the end-to-end tests drive it: a page's DOM after its scripts
ran, or a screenshot (``make test`` installs Chromium)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from tests import needs

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1300,1000",
]


def browse(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Run Chromium once with a fresh profile; ``--dump-dom URL`` prints the DOM on stdout."""
    return subprocess.run(
        [
            needs.tool("chromium", "chromium-browser"),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The ASGI app on a free port of 127.0.0.1 in a thread, for a browser; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
