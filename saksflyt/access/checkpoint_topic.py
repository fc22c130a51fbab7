"""The Kafka copy of the signed checkpoints: ``<prefix>.audit.checkpoints``.

With ``SAKSFLYT_KAFKA`` set, ``saksflyt checkpoint`` publishes every checkpoint record (JSON, as
in ``checkpoints.jsonl``, signature included; not its leaves) to a topic that is never compacted
and never deleted (``retention.ms=-1``, ``cleanup.policy=delete``): held by the brokers, out of
reach of whoever administers the database and the checkpoint file's host. ``saksflyt verify
--checkpoints`` reads the newest copy and compares: a checkpoint file cut short, or its newest
record changed, is named; and the store must still hold at least the cases, events and access-log
rows the newest copy counted — what a deletion made together with a rewritten file cannot hide.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from kafka import TopicPartition

from consumers.topics import Topics
from saksflyt import kafka_wiring
from saksflyt.access.checkpoints import Checkpoint
from saksflyt.settings import Settings

TIMEOUT_S = 30


def publish(settings: Settings, checkpoint: Checkpoint) -> None:
    """Send the checkpoint and wait until every in-sync replica has it."""
    assert settings.kafka is not None
    producer = kafka_wiring.producer(
        settings.kafka, "saksflyt-checkpoint", kafka_wiring.security(settings)
    )
    try:
        value = json.dumps(asdict(checkpoint), sort_keys=True).encode()
        topic = Topics(settings.topic_prefix).checkpoints
        headers = [("content-type", b"application/json")]
        producer.send(topic, key=b"checkpoint", value=value, headers=headers).get(TIMEOUT_S)
    finally:
        producer.close(TIMEOUT_S)


def newest(settings: Settings) -> Checkpoint | None:
    """The newest checkpoint the topic holds, or None when it holds none."""
    assert settings.kafka is not None
    reader = kafka_wiring.reader(settings.kafka, "saksflyt-verify", kafka_wiring.security(settings))
    try:
        partition = TopicPartition(Topics(settings.topic_prefix).checkpoints, 0)
        reader.assign([partition])
        end = reader.end_offsets([partition])[partition]
        if end == 0:
            return None
        reader.seek(partition, end - 1)
        for _ in range(TIMEOUT_S):
            for records in reader.poll(timeout_ms=1000).values():
                return Checkpoint(**json.loads(records[-1].value))
        raise TimeoutError(f"the newest checkpoint on {partition.topic} did not arrive")
    finally:
        reader.close()


def compare(copy: Checkpoint, file_newest: Checkpoint | None) -> list[str]:
    """What the checkpoint file lacks or changed, against the Kafka copy (both signed)."""
    if file_newest is None or file_newest.number < copy.number:
        ends = "holds none" if file_newest is None else f"ends at {file_newest.number}"
        return [f"checkpoint file {ends}, Kafka holds checkpoint {copy.number}: it was cut"]
    if file_newest.number == copy.number and file_newest != copy:
        return [f"checkpoint {copy.number} in the file differs from its Kafka copy"]
    return []


def fewer(copy: Checkpoint, cases: int, events: int, access_rows: int) -> list[str]:
    """Counts the store falls short of since the Kafka copy was signed."""
    short = [
        (what, then, now)
        for what, then, now in (
            ("cases", copy.cases, cases),
            ("events", copy.events, events),
            ("access-log rows", copy.access_rows, access_rows),
        )
        if now < then
    ]
    return [f"{then - now} of {then} {what} are gone" for what, then, now in short]
