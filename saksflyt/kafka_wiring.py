"""Kafka clients and positions built from settings: the only place their options are chosen."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

from consumers.positions import PostgresRelayPosition, RelayPosition, SqliteRelayPosition
from saksflyt.settings import Settings


def producer(bootstrap: str, client_id: str = "saksflyt") -> KafkaProducer:
    """Idempotent, acks from all in-sync replicas: nothing acknowledged is lost or doubled."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30_000,
    )


def consumer(bootstrap: str, group: str, client_id: str = "saksflyt") -> KafkaConsumer:
    """Manual commits, from the earliest offset, cooperative rebalancing."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        partition_assignment_strategy=[CooperativeStickyAssignor],
    )


def reader(bootstrap: str, client_id: str = "saksflyt-reader") -> KafkaConsumer:
    """No group, no commits: for reading a topic from its start (a rebuild)."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
    )


def relay_position(settings: Settings, topic: str) -> RelayPosition:
    if settings.event_store == "sqlite":
        return SqliteRelayPosition(settings.sqlite_path, name=topic)
    assert settings.postgres_url is not None
    return PostgresRelayPosition(settings.postgres_url, settings.postgres_schema or "public", topic)
