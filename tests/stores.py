"""Settings for a throwaway embedded store: event store, read models and documents in one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saksflyt.settings import Settings


def sqlite_settings(folder: Path, **overrides: Any) -> Settings:
    return Settings(
        event_store="sqlite",
        sqlite_path=folder / "events.db",
        projection_sqlite_path=folder / "projections.db",
        document_dir=folder / "documents",
        **overrides,
    )
