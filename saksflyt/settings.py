"""Configuration in one place: the only reader of the process environment.

Every setting is ``SAKSFLYT_<NAME>``. ``eventsourcing_env()`` turns them into the mapping the
``eventsourcing`` library is configured with, so the library never reads ``os.environ`` itself.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import limits
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.services import Catalogue
from saksflyt import recorders

# Public-key signatures only: a shared secret (HS*) would let every verifier mint tokens.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


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
    max_attachments_per_case: int = Field(default=30, ge=1, le=1000)
    max_case_attachment_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    # the largest JSON request body the API reads (forms are a few KiB)
    max_json_bytes: int = 256 * 1024
    # a request with an Idempotency-Key whose first attempt died unanswered (the API crashed) is
    # run again by a resend after this long; until then a resend waits, then hears 409
    idempotency_stale_seconds: float = Field(default=120.0, gt=0)
    # requests one API process runs at once (the rest wait their turn, in order): on 2 cores 4–8
    # hold the most — 32 requests at once did 15 % less than 8
    request_threads: int = Field(default=8, ge=1, le=200)
    # connections each API process keeps to the records on PostgreSQL (the access log; as many
    # again for idempotency answers): a request borrows one instead of connecting
    records_pool_size: int = Field(default=8, ge=1, le=100)
    # how long a read of the read models waits for them to show what it asks for (every event
    # committed before it arrived, in-process delivery; ``wait_for`` a case's version, either
    # mode) before it is answered 503 / 425 with Retry-After
    read_wait_seconds: float = Field(default=2.0, ge=0, le=30)
    # Kafka bootstrap servers (host:port,…); without it events are delivered in-process
    kafka: str | None = None
    # how long a command waits for a server (Kafka bootstrap) before it says it cannot reach it
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    topic_prefix: str = "saksflyt"
    # ``topics ensure`` on a cluster: copies of each partition, and how many must have a write
    # before it is acknowledged (producers use acks=all); 3 and 2 survive one broker down
    topic_replication: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int | None = Field(default=None, ge=1)
    # intake, projector and notices in their consumer groups: a member silent this long is
    # dropped and its partitions go to the others; a static instance id (one per process, e.g.
    # the pod's name) lets a restarted process take its partitions back at once
    kafka_session_timeout_ms: int = Field(default=10_000, ge=6_000, le=300_000)
    kafka_group_instance_id: str | None = None
    # processes that map and encode events for the relay (each reads the event store), so its
    # own thread only sends; 0: it encodes on its own thread. On 2 cores 2 published the most
    relay_encoders: int = Field(default=2, ge=0, le=32)
    # relay, intake and projector serve /metrics, /healthz and /readyz on this port when set
    metrics_port: int | None = None
    # the address it listens on: 0.0.0.0 in a container, for Prometheus in another one
    metrics_host: str = "127.0.0.1"
    # how often open-case and deadline gauges are recounted from the read models
    gauge_refresh_seconds: float = 30.0
    # several worker processes: prometheus_client keeps its numbers in files here (and reads the
    # same variable itself), /metrics sums them
    prometheus_multiproc_dir: Path | None = Field(
        default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR"
    )

    # Noark 5 exports over HTTP: Arkivverket's official XSDs (copied into each package) and where
    # packages are built and kept for download
    noark5_schemas: Path | None = None
    export_dir: Path = Path("var/exports")
    export_keep_hours: float = Field(default=24.0, gt=0)
    # Bearer tokens (JWT) on every API endpoint but /healthz and /readyz: checked against a JWKS
    # file and/or a PEM public key, for this issuer and audience (docs/security.md)
    auth_jwks: Path | None = None
    auth_public_key: Path | None = None
    auth_issuer: str = "saksflyt-dev"
    auth_audience: str = "saksflyt"
    auth_algorithms: list[str] = ["RS256", "PS256", "ES256"]
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)  # clock skew tolerated
    # TOML file of trusted identity providers (ID-porten, Maskinporten, Entra ID): each its iss,
    # audience, claim mapping; keys by OpenID Connect discovery (saksflyt/access/issuers.py)
    auth_issuers: Path | None = None
    # their key sets: kept this long, fetched again on an unknown kid or a failed signature but
    # never more often than the cooldown, and waited for at most the timeout
    auth_jwks_cache_seconds: float = Field(default=300.0, gt=0, le=86_400)
    auth_jwks_cooldown_seconds: float = Field(default=30.0, ge=0, le=3_600)
    auth_fetch_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # how often each API process reads the revoked tokens (saksflyt revoke): a revocation takes
    # hold within this
    auth_revocation_refresh_seconds: float = Field(default=5.0, ge=0, le=300)
    # signed checkpoints of every hash chain's head (saksflyt checkpoint, verify --checkpoints):
    # the append-only log and the Ed25519 key that signs it, which the database never holds
    checkpoint_dir: Path = Path("var/checkpoints")
    checkpoint_key: Path = Path("var/checkpoint-key.pem")
    # requests per sliding window (the limits library's notation, e.g. "600/minute"), per client
    # address and per token subject; over it, 429 with Retry-After
    rate_limit_per_address: str = "1200/minute"
    rate_limit_per_caller: str = "600/minute"
    # the longest a token may live (exp - iat); a longer one is refused, and never minted
    auth_max_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # a local development signing key (PEM); its tokens are trusted and saksflyt token mints them
    auth_dev_key: Path | None = None
    # /metrics on the API without a token (a Prometheus scraper on a private network)
    metrics_open: bool = False
    # Kafka security, for every client (docs/security.md): PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = Field(default=None, repr=False)
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    draft_expiry_days: int = Field(default=90, ge=1)  # untouched drafts are erased after this
    # letters to applicants (the notices policy): over SMTP, or into a local mbox file
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    notices_from: str = (
        "postmottak@kommune.example"  # the sender's address; its domain names messages
    )
    notices_mailbox: Path | None = None  # instead of SMTP: write letters into this mbox file
    notices_max_age_hours: float = Field(default=72.0, gt=0)  # older occasions are not acted on
    notices_max_attempts: int = Field(default=4, ge=1)  # for a message the server puts off (4xx)

    @field_validator(
        "auth_jwks",
        "auth_issuers",
        "auth_public_key",
        "auth_dev_key",
        "noark5_schemas",
        "kafka_ssl_cafile",
        "kafka_ssl_certfile",
        "kafka_ssl_keyfile",
        "smtp_host",
        "notices_mailbox",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # VAR= in a shell means "not set", not "."

    @field_validator("rate_limit_per_address", "rate_limit_per_caller")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is no rate limit; write e.g. 600/minute") from None
        return value

    @field_validator("auth_algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        refused = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(
                f"refused token algorithms {refused}: only {sorted(ASYMMETRIC_ALGORITHMS)}"
            )
        return algorithms

    @model_validator(mode="after")
    def _beside_the_store(self) -> Settings:
        """One location: read models, attachments and (for the embedded store) the key ring not
        placed elsewhere live beside the event store, so a store named on the command line
        (``--db``) never pairs with — or clears — another store's tables, files or keys."""
        beside = self.sqlite_path.parent
        if "projection_sqlite_path" not in self.model_fields_set:
            self.projection_sqlite_path = beside / "projections.db"
        if self.event_store == "sqlite":
            if "document_dir" not in self.model_fields_set:
                self.document_dir = beside / "documents"
            if "key_ring" not in self.model_fields_set:
                self.key_ring = beside / "keyring.json"
        return self

    def placed_elsewhere(self) -> list[Path]:
        """The embedded store's companions that the settings put away from it: no command that
        clears a store touches these."""
        beside = self.sqlite_path.parent
        paths = [self.projection_sqlite_path, self.document_dir]
        return [p for p in paths if p.parent.resolve() != beside.resolve()]

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """The environment (``SAKSFLYT_*``), under the command line's global options, under
        ``overrides``."""
        return cls(**{**COMMAND_LINE.get(), **overrides})

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
                "PROCESS_RECORDER_TOPIC": recorders.SQLITE,
            }
        if not self.postgres_url:
            raise ValueError("SAKSFLYT_EVENT_STORE=postgres needs SAKSFLYT_POSTGRES_URL")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "PROCESS_RECORDER_TOPIC": recorders.POSTGRES,
            **postgres_env(self.postgres_url),
        }
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


# the command line's global options (--db, --read-models), over the environment for one command
COMMAND_LINE: ContextVar[dict[str, Any]] = ContextVar("command_line", default={})  # noqa: B039


@contextmanager
def command_line(**values: Any) -> Iterator[None]:
    """Settings read while this is open take ``values`` over the environment."""
    token = COMMAND_LINE.set({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        COMMAND_LINE.reset(token)
