"""Kafka clients and positions built from settings: the only place their options are chosen.

``security(settings)`` gives every client the same TLS and SASL options (docs/security.md);
each builder takes them as ``security``, plaintext when left out (tests on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

from consumers.positions import PostgresRelayPosition, RelayPosition, SqliteRelayPosition
from saksflyt.settings import Settings

PLAINTEXT: Mapping[str, Any] = {}


def security(settings: Settings) -> dict[str, Any]:
    """TLS and SASL options for kafka-python from settings; SASL needs a user and password."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        if not (settings.kafka_sasl_username and settings.kafka_sasl_password):
            raise ValueError(
                f"SAKSFLYT_KAFKA_SECURITY_PROTOCOL={protocol} needs SAKSFLYT_KAFKA_SASL_USERNAME "
                "and SAKSFLYT_KAFKA_SASL_PASSWORD"
            )
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    if protocol.endswith("SSL"):
        options["ssl_check_hostname"] = True
        for name in ("cafile", "certfile", "keyfile"):
            path = getattr(settings, f"kafka_ssl_{name}")
            if path is not None:
                options[f"ssl_{name}"] = str(path)
    return options


def producer(
    bootstrap: str,
    client_id: str = "saksflyt",
    security: Mapping[str, Any] = PLAINTEXT,
    bulk: bool = False,
) -> KafkaProducer:
    """Idempotent, acks from all in-sync replicas: nothing acknowledged is lost or doubled.

    ``bulk`` (the relay): 256 KiB batches lingering up to 20 ms, measured ~20 % faster than 16 KiB
    and 5 ms when catching up (``docs/benchmarks.md``); the relay flushes as soon as it has caught
    up, so a lone event does not wait out the linger."""
    return KafkaProducer(
        **security,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=20 if bulk else 5,
        batch_size=256 * 1024 if bulk else 16 * 1024,
        request_timeout_ms=30_000,
    )


def membership(settings: Settings) -> dict[str, Any]:
    """How a long-running consumer belongs to its group: its session timeout, and its static
    instance id when one is set (a restarted process takes its partitions back at once instead
    of the group waiting out the dead one's session)."""
    options: dict[str, Any] = {"session_timeout_ms": settings.kafka_session_timeout_ms}
    if settings.kafka_group_instance_id:
        options["group_instance_id"] = settings.kafka_group_instance_id
    return options


# How long the broker holds a fetch that finds nothing new. kafka-python keeps one fetch in flight
# per broker and asks only for partitions whose records it has handed out: near the end of a
# topic a fetch for the finished partitions held 500 ms (the default) kept the others waiting —
# a 0.45 s stall in one of two catch-ups measured. An idle consumer asks 10 times a second.
FETCH_MAX_WAIT_MS = 100


def consumer(
    bootstrap: str,
    group: str,
    client_id: str = "saksflyt",
    security: Mapping[str, Any] = PLAINTEXT,
    start: str = "earliest",
    member: Mapping[str, Any] | None = None,
    max_poll_records: int = 500,
) -> KafkaConsumer:
    """Manual commits, cooperative rebalancing; a new group starts at the ``start`` offset
    (``latest`` for a policy that must not act on history). ``member``: ``membership()``;
    ``max_poll_records``: the most one poll hands out (a consumer's batch)."""
    return KafkaConsumer(
        **security,
        **(member or {}),
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset=start,
        max_poll_records=max_poll_records,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        partition_assignment_strategy=[CooperativeStickyAssignor],
    )


def reader(
    bootstrap: str, client_id: str = "saksflyt-reader", security: Mapping[str, Any] = PLAINTEXT
) -> KafkaConsumer:
    """No group, no commits: for reading a topic from its start (a rebuild)."""
    return KafkaConsumer(
        **security,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )


def relay_position(settings: Settings, topic: str) -> RelayPosition:
    if settings.event_store == "sqlite":
        return SqliteRelayPosition(settings.sqlite_path, name=topic)
    assert settings.postgres_url is not None
    return PostgresRelayPosition(settings.postgres_url, settings.postgres_schema or "public", topic)
