"""Debian's Chromium, headless, as the end-to-end tests drive it: a page's DOM after its scripts
ran, or a screenshot (``make test`` installs Chromium)."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
