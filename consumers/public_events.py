"""The event path in one module: stored events -> public events -> Kafka records -> public events.

- ``PublicEvents`` reads the event store's notification log as public events (each with its case's
  service and municipality): the relay, in-process delivery and a rebuild from the store use it.
- ``to_kafka_record`` lays a public event into a Kafka record (the relay); ``from_kafka_record``
  reads one back (a rebuild from the topic), and ``KafkaEventHandler`` hands each record of
  ``saksflyt.events`` to event handlers (the projector, any consumer run by the consumer runtime).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.casework import Casework
from schemas.codec import AvroCodec
from schemas.kafka_layout import KafkaRecord, cloudevent_headers
from schemas.mapping import PublicEvent, to_latest_public_event

EventHandler = Callable[[PublicEvent], None]


class PublicEvents:
    """Notifications of the event store as public events, in the newest schema version."""

    def __init__(self, app: Casework, codec: AvroCodec) -> None:
        self.app, self.codec = app, codec

    def _case_context(self, case_id: UUID, domain_event: Any) -> tuple[str, str]:
        """(service, kommunenummer) of the case: from its Created event, else the store's
        bounded cache of case scopes (``CaseStore.case_scope``)."""
        if getattr(domain_event, "originator_version", None) == 1:
            return self.app.remember_scope(
                case_id, domain_event.service, domain_event.kommunenummer
            )
        return self.app.case_scope(case_id)

    def to_public(self, notification: Notification) -> PublicEvent:
        """Personal values stay as sealed in the store: the same ciphertext on every topic."""
        domain_event = self.app.mapper.to_sealed_domain_event(notification)
        found = notification.originator_id
        case_id = found if isinstance(found, UUID) else UUID(str(found))
        service, kommunenummer = self._case_context(case_id, domain_event)
        return to_latest_public_event(domain_event, service, kommunenummer, self.codec.registry)

    def after(self, position: int, limit: int) -> Iterator[tuple[int, PublicEvent]]:
        """Up to ``limit`` (notification id, public event) pairs after ``position``."""
        for notification in self.app.recorder.select_notifications(start=position + 1, limit=limit):
            yield notification.id, self.to_public(notification)

    def head(self) -> int:
        """The newest notification id (0 for an empty store)."""
        return self.app.recorder.max_notification_id() or 0


def to_kafka_record(event: PublicEvent, codec: AvroCodec) -> KafkaRecord:
    """Keyed by case (one case's events keep their order), with CloudEvents headers. The ids
    are taken from the record as they are (not parsed into UUIDs again)."""
    r = event.record
    case_id = str(r["case_id"])
    return KafkaRecord(
        key=case_id.encode(),
        value=codec.encode(event.name, r),
        headers=cloudevent_headers(
            r["event_id"],
            event.ce_type,
            f"/kommune/{r['kommunenummer']}/{r['service']}",
            case_id,
            r["occurred_at"],
            codec.registry.latest(event.name),
        ),
    )


def from_kafka_record(record: Any, codec: AvroCodec) -> PublicEvent:
    """A consumed record of the events topic as the public event (raises if undecodable)."""
    decoded = codec.decode(record.value)
    ce_type = next((v for k, v in record.headers or [] if k == "ce_type"), b"")
    return PublicEvent(decoded.name, bytes(ce_type).decode(errors="replace"), decoded.record)


class KafkaEventHandler:
    """Decode a record from the events topic and pass the public event to the handlers."""

    def __init__(self, handlers: Iterable[EventHandler], codec: AvroCodec | None = None) -> None:
        self.handlers = list(handlers)
        self.codec = codec or AvroCodec()

    def __call__(self, record: Any) -> None:
        event = from_kafka_record(record, self.codec)
        for handler in self.handlers:
            handler(event)

    def flush(self) -> None:
        flush_all(self.handlers)


def flush_all(handlers: Iterable[EventHandler], position: int | None = None) -> None:
    """Let buffering handlers write what they hold (before offsets or positions move on)."""
    for handler in handlers:
        flush = getattr(handler, "flush", None)
        if flush is not None:
            flush() if position is None else flush(position)
