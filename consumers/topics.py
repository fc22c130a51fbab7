"""The Kafka topics saksflyt uses, and ``saksflyt topics ensure`` to create them.

Partition counts: events and commands are keyed by case id, so a case's messages stay in order on
one partition; six partitions let up to six consumers of a group share the work. Dead-letter and
rejection topics are low-volume: fewer partitions, and a retention long enough for a person to act.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    partitions: int
    config: dict[str, str]
    purpose: str


TOPIC_SPECS = (
    TopicSpec(
        "events",
        6,
        {"retention.ms": "-1", "cleanup.policy": "delete"},
        "every application event, keyed by case id; kept forever so projections can rebuild",
    ),
    TopicSpec(
        "commands",
        6,
        {"retention.ms": str(30 * DAY_MS)},
        "commands from backend services, keyed by case id",
    ),
    TopicSpec(
        "commands.rejected",
        3,
        {"retention.ms": str(90 * DAY_MS)},
        "commands the rules refused, with the reason; keyed by case id",
    ),
    TopicSpec(
        "events.dlq",
        1,
        {"retention.ms": str(90 * DAY_MS)},
        "event messages a consumer could not process, with why in the headers",
    ),
    TopicSpec(
        "commands.dlq",
        1,
        {"retention.ms": str(90 * DAY_MS)},
        "command messages that could not be decoded or handled, with why in the headers",
    ),
    TopicSpec(
        "audit.checkpoints",
        1,
        {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"},
        "signed checkpoints of every hash chain's head (saksflyt checkpoint), JSON; never "
        "compacted, never deleted: the copy a database administrator cannot rewrite",
    ),
)


@dataclass(frozen=True)
class Topics:
    """Topic names; a prefix other than ``saksflyt`` isolates tests or environments."""

    prefix: str = "saksflyt"

    def name(self, suffix: str) -> str:
        return f"{self.prefix}.{suffix}"

    @property
    def events(self) -> str:
        return self.name("events")

    @property
    def commands(self) -> str:
        return self.name("commands")

    @property
    def rejected(self) -> str:
        return self.name("commands.rejected")

    @property
    def events_dlq(self) -> str:
        return self.name("events.dlq")

    @property
    def commands_dlq(self) -> str:
        return self.name("commands.dlq")

    @property
    def checkpoints(self) -> str:
        return self.name("audit.checkpoints")


def ensure_topics(
    bootstrap: str,
    topics: Topics,
    replication: int = 1,
    min_insync: int | None = None,
    **security: Any,
) -> list[str]:
    """Create the topics that are missing; return the names created. ``replication`` copies of
    each partition, ``min_insync`` of them must have a write before it is acknowledged (None:
    the broker's default). ``security``: the clients' TLS and SASL options."""
    insync = {} if min_insync is None else {"min.insync.replicas": str(min_insync)}
    admin = KafkaAdminClient(**security, bootstrap_servers=bootstrap, client_id="saksflyt-admin")
    try:
        existing = set(admin.list_topics())
        wanted = {
            topics.name(s.suffix): {
                "num_partitions": s.partitions,
                "replication_factor": replication,
                "configs": {**s.config, **insync},
            }
            for s in TOPIC_SPECS
            if topics.name(s.suffix) not in existing
        }
        if wanted:
            # another process may create them between our look and our create
            with suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted, timeout_ms=30_000, wait_for_metadata=True)
        return sorted(wanted)
    finally:
        admin.close()
