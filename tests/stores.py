"""Settings for a throwaway embedded store: event store, read models and documents in one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from projections.tables import READ_MODELS
from saksflyt.archive.numbers import Numbers
from saksflyt.bootstrap import projection_store
from saksflyt.privacy.keyring import FileKeyRing
from saksflyt.records import records_database
from saksflyt.settings import Settings

UNLIMITED = {"rate_limit_per_address": "1000000/minute", "rate_limit_per_caller": "1000000/minute"}


def sqlite_settings(folder: Path, **overrides: Any) -> Settings:
    return Settings(
        event_store="sqlite",
        sqlite_path=folder / "events.db",
        projection_sqlite_path=folder / "projections.db",
        document_dir=folder / "documents",
        **{
            "key_ring": folder / "keyring.json",
            "auth_dev_key": folder / "dev-key.pem",
            **UNLIMITED,  # a test client sends thousands of requests from one address
            **overrides,
        },
    )


def postgres_settings(url: str, schema: str, folder: Path, **overrides: Any) -> Settings:
    """A PostgreSQL store in its own schema, with a key ring made for it (a server store never
    makes one by itself)."""
    ring = overrides.pop("key_ring", folder / "keyring.json")
    if not ring.exists():
        FileKeyRing.create(ring)
    return Settings(
        event_store="postgres",
        postgres_url=url,
        postgres_schema=schema,
        document_dir=folder / "documents",
        key_ring=ring,
        **{"auth_dev_key": folder / "dev-key.pem", **UNLIMITED, **overrides},
    )


def store_settings(
    kind: str, folder: Path, request: pytest.FixtureRequest, **overrides: Any
) -> Settings:
    """An embedded (``sqlite``) or a PostgreSQL (``postgres``: a fresh schema) store."""
    if kind == "sqlite":
        return sqlite_settings(folder, **overrides)
    url, schema = (request.getfixturevalue(f) for f in ("postgres_url", "postgres_schema"))
    return postgres_settings(url, schema, folder, **overrides)


def export_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's settings into the environment, for a command-line tool run in this process."""
    names = ("event_store", "sqlite_path", "projection_sqlite_path", "postgres_url",
             "postgres_schema", "key_ring", "document_dir", "checkpoint_dir", "checkpoint_key",
             "auth_dev_key", "kafka", "topic_prefix")  # fmt: skip
    for name in names:
        value = getattr(settings, name)
        if value is not None:
            monkeypatch.setenv(f"SAKSFLYT_{name.upper()}", str(value))


def read_model_tables(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Every read-model table's rows, in key order: for comparing live and rebuilt."""
    store = projection_store(settings)
    tables = {}
    for table in READ_MODELS:
        order = ", ".join(table.key)
        tables[table.name] = store.db.rows(
            f"SELECT * FROM {table.name} ORDER BY {order}", table=table.name
        )
    store.db.close()
    return tables


def numbers(settings: Settings) -> Numbers:
    """The archive's number assigner on its own connection (one per thread)."""
    return Numbers(records_database(settings))


def demo_paths(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every path ``saksflyt demo`` writes into ``folder`` (through the environment)."""
    for name, path in {
        "SQLITE_PATH": "events.db",
        "PROJECTION_SQLITE_PATH": "projections.db",
        "KEY_RING": "keyring.json",
        "DOCUMENT_DIR": "documents",
        "AUTH_DEV_KEY": "dev-key.pem",
    }.items():
        monkeypatch.setenv(f"SAKSFLYT_{name}", str(folder / path))
