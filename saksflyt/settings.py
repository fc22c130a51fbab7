"""Configuration in one place: the only reader of the process environment.

Every setting is ``SAKSFLYT_<NAME>``. ``eventsourcing_env()`` turns them into the mapping the
``eventsourcing`` library is configured with, so the library never reads ``os.environ`` itself.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.services import Catalogue


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAKSFLYT_", extra="ignore")

    event_store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: Path = Path("var/saksflyt.db")
    postgres_url: str | None = None
    postgres_schema: str | None = None
    # base64 AES key (16, 24 or 32 bytes): whole events are encrypted at rest when set
    cipher_key: str | None = Field(default=None, repr=False)
    # TOML file with per-municipality overrides: [kommunenummer.service] decision_days = …
    municipality_settings: Path | None = None
    # Read models: SQLite file by default; "postgres" uses postgres_url and postgres_schema
    projection_store: Literal["sqlite", "postgres"] | None = None  # default: as event_store
    projection_sqlite_path: Path = Path("var/projections.db")
    # The municipality's key ring (saksflyt keys init): wraps each case's data key, holds the
    # pseudonym and sealing keys. Made on first use for the embedded store; required otherwise.
    key_ring: Path = Path("var/keyring.json")
    # refuse commands on Kafka whose personal fields are not sealed to the municipality's key
    require_sealed_commands: bool = False
    # Attachment bytes (content-addressed by SHA-256) and the largest upload accepted
    document_dir: Path = Path("var/documents")
    max_attachment_bytes: int = 10 * 1024 * 1024
    # the largest JSON request body the API reads (forms are a few KiB)
    max_json_bytes: int = 256 * 1024
    # Kafka bootstrap servers (host:port,…); without it events are delivered in-process
    kafka: str | None = None
    topic_prefix: str = "saksflyt"
    # relay, intake and projector serve /metrics, /healthz and /readyz on this port when set
    metrics_port: int | None = None
    # how often open-case and deadline gauges are recounted from the read models
    gauge_refresh_seconds: float = 30.0
    # several worker processes: prometheus_client keeps its numbers in files here (and reads the
    # same variable itself), /metrics sums them
    prometheus_multiproc_dir: Path | None = Field(
        default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR"
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        return cls(**overrides)

    def eventsourcing_env(self) -> dict[str, str]:
        env = self._persistence_env()
        if self.cipher_key:
            env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
            env["CIPHER_KEY"] = self.cipher_key
        return env

    def _persistence_env(self) -> dict[str, str]:
        if self.event_store == "sqlite":
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
            }
        if not self.postgres_url:
            raise ValueError("SAKSFLYT_EVENT_STORE=postgres needs SAKSFLYT_POSTGRES_URL")
        env = {"PERSISTENCE_MODULE": "eventsourcing.postgres", **postgres_env(self.postgres_url)}
        if self.postgres_schema:
            env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env

    def catalogue(self) -> Catalogue:
        if self.municipality_settings is None:
            return Catalogue.default()
        overrides = tomllib.loads(self.municipality_settings.read_text(encoding="utf-8"))
        return Catalogue.default(overrides)


def postgres_env(url: str) -> dict[str, str]:
    """``postgresql://user:password@host:port/dbname`` as eventsourcing's POSTGRES_* settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise ValueError("a PostgreSQL URL looks like postgresql://user:password@host:5432/dbname")
    return {
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }
