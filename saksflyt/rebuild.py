"""``saksflyt rebuild``: rebuild the read models into fresh tables, then swap them in.

Events come from the event store's notification log or from the start of ``saksflyt.events``. The
live tables stay as they are (and readable) until the fresh ones have caught up; then one
transaction swaps them. Events that arrived while the rebuild ran (and went to the old tables) are
read once more from where the rebuild stopped and applied after the swap; the per-case version
check drops whatever is already there. Only the projection writer runs: no side effect (receipt,
message) is repeated by a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from kafka import KafkaConsumer, TopicPartition

from consumers.public_events import PublicEvents, from_kafka_record
from consumers.topics import Topics
from domain.casework import Casework
from projections.store import EVENT_STORE_SOURCE, ProjectionWriter
from saksflyt import kafka_wiring
from saksflyt.bootstrap import projection_store
from saksflyt.command_line import Exit, UserError
from saksflyt.settings import Settings
from schemas.codec import AvroCodec
from schemas.mapping import PublicEvent

BATCH = 1000
Progress = Callable[[int, int], None]  # (done, total)


class EventSource(Protocol):
    total: int  # events there were when the rebuild began (for progress)

    def mark(self) -> tuple[str, int] | None:
        """How far the source was read, to keep with the read models (None: Kafka keeps it)."""
        ...

    def read(self) -> Iterator[PublicEvent]:
        """Events from where the last read stopped up to the end as it is now."""
        ...

    def close(self) -> None: ...


class StoreSource:
    """The event store's notification log, from the first notification."""

    def __init__(self, app: Casework) -> None:
        self.events = PublicEvents(app, AvroCodec())
        self.total = self.events.head()
        self.position = 0

    def mark(self) -> tuple[str, int] | None:
        return (EVENT_STORE_SOURCE, self.position)

    def read(self) -> Iterator[PublicEvent]:
        while batch := list(self.events.after(self.position, BATCH)):
            self.position = batch[-1][0]
            yield from (event for _, event in batch)

    def close(self) -> None:
        return None


class KafkaSource:
    """The events topic, from the start of every partition."""

    def __init__(self, consumer: KafkaConsumer, topic: str) -> None:
        self.consumer = consumer
        self.partitions = [
            TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or []
        ]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        starts = self.consumer.beginning_offsets(self.partitions)
        ends = self.consumer.end_offsets(self.partitions)
        self.total = sum(ends[tp] - starts[tp] for tp in self.partitions)
        self.codec = AvroCodec(ids_as_text=True)  # the read models keep ids as text

    def read(self) -> Iterator[PublicEvent]:
        ends = self.consumer.end_offsets(self.partitions)
        while any(self.consumer.position(tp) < ends[tp] for tp in self.partitions):
            for records in self.consumer.poll(timeout_ms=500).values():
                for record in records:
                    yield from_kafka_record(record, self.codec)

    def mark(self) -> tuple[str, int] | None:
        return None

    def close(self) -> None:
        self.consumer.close()


def kafka_source(settings: Settings) -> KafkaSource:
    if settings.kafka is None:
        raise UserError("--source kafka needs Kafka: set SAKSFLYT_KAFKA", Exit.CONFIGURATION)
    reader = kafka_wiring.reader(settings.kafka, security=kafka_wiring.security(settings))
    return KafkaSource(reader, Topics(settings.topic_prefix).events)


class EmptyRebuild(UserError):
    """Nothing to rebuild from, while the read models hold cases: most likely the wrong store."""

    def __init__(self, cases: int, where: str) -> None:
        super().__init__(
            f"found no events in {where}, but the read models hold {cases} cases: nothing swapped "
            "(is this the store they came from? --db names it; --force swaps anyway)",
            Exit.FAILED,
        )


def rebuild(
    settings: Settings,
    source: EventSource,
    progress: Progress | None = None,
    force: bool = False,
) -> int:
    """Apply every event to fresh tables, swap them in, then apply what arrived meanwhile.
    An empty result is not swapped over read models that hold cases unless ``force``.

    Returns how many events the fresh tables took.
    """
    live = projection_store(settings)  # the live schema exists and is migrated
    fresh = projection_store(settings, suffix="__rebuild")
    fresh.create_fresh()
    writer = ProjectionWriter(fresh, batch_size=BATCH)
    for done, event in enumerate(source.read(), start=1):
        writer(event)
        if progress and done % BATCH == 0:
            progress(done, source.total)
    writer.flush()
    with live.db.transaction():  # ended at once: the swap needs the tables' exclusive lock
        cases = live.db.rows("SELECT COUNT(*) AS n FROM case_overview")[0]["n"]
    if writer.applied == 0 and cases and not force:
        fresh.db.close()
        live.db.close()
        source.close()
        raise EmptyRebuild(int(cases), _where(settings, source))
    fresh.swap_into_place(source.mark())
    fresh.db.close()
    late = ProjectionWriter(live, batch_size=BATCH)
    for event in source.read():
        late(event)
    mark = source.mark()
    late.flush(mark[1] if mark else None)
    live.db.close()
    source.close()
    if progress:
        progress(writer.applied + late.applied, source.total)
    return writer.applied + late.applied


def _where(settings: Settings, source: EventSource) -> str:
    if isinstance(source, StoreSource):
        store = settings.sqlite_path if settings.event_store == "sqlite" else "PostgreSQL"
        return f"the event store ({store})"
    return f"the events topic on {settings.kafka}"
