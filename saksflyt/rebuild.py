"""``saksflyt rebuild``: rebuild the read models into fresh tables, then swap them in.

Events come from the event store's notification log or from the start of ``saksflyt.events``. The
live tables stay as they are (and readable) until the fresh ones have caught up; then one
transaction swaps them. Only the projection writer runs: no side effect (receipt, message) is
repeated by a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kafka import KafkaConsumer, TopicPartition

from consumers.delivery import ProjectionWriter
from consumers.relay import PublicEvents
from consumers.topics import Topics
from domain.casework import Casework
from saksflyt.bootstrap import projection_store
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.mapping import PublicEvent

BATCH = 1000
Progress = Callable[[int, int], None]  # (done, total)


def events_from_store(app: Casework) -> tuple[int, Iterator[PublicEvent]]:
    total = app.recorder.max_notification_id() or 0
    source = PublicEvents(app, AvroCodec())

    def generate() -> Iterator[PublicEvent]:
        position = 0
        while batch := list(source.after(position, BATCH)):
            position = batch[-1][0]
            yield from (event for _, event in batch)

    return total, generate()


def events_from_kafka(bootstrap: str, topic: str) -> tuple[int, Iterator[PublicEvent]]:
    """Every event from the start of the topic up to its end as it is now."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    total = sum(ends[tp] - starts[tp] for tp in partitions)
    codec = AvroCodec()

    def generate() -> Iterator[PublicEvent]:
        try:
            while any(consumer.position(tp) < ends[tp] for tp in partitions):
                for records in consumer.poll(timeout_ms=500).values():
                    for record in records:
                        if record.offset < ends[TopicPartition(record.topic, record.partition)]:
                            decoded = codec.decode(record.value)
                            headers = {k: v.decode() for k, v in record.headers or []}
                            yield PublicEvent(
                                decoded.name, headers.get("ce_type", ""), decoded.record
                            )
        finally:
            consumer.close()

    return total, generate()


def rebuild(
    settings: Settings, total: int, events: Iterator[PublicEvent], progress: Progress | None = None
) -> int:
    """Apply every event to fresh tables, swap them in; return how many events were applied."""
    projection_store(settings).db.close()  # the live schema exists and is migrated
    fresh = projection_store(settings, suffix="__rebuild")
    fresh.create_fresh()
    writer = ProjectionWriter(fresh, batch_size=BATCH)
    done = 0
    for event in events:
        writer(event)
        done += 1
        if progress and done % BATCH == 0:
            progress(done, total)
    writer.flush()
    fresh.swap_into_place()
    fresh.db.close()
    if progress:
        progress(done, total)
    return writer.applied


def kafka_source(settings: Settings) -> tuple[int, Iterator[PublicEvent]]:
    assert settings.kafka is not None
    return events_from_kafka(settings.kafka, Topics(settings.topic_prefix).events)
