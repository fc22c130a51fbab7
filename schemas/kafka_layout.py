"""How a public message sits in a Kafka record: key, value and CloudEvents binary-mode headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.codec import AvroCodec
from schemas.mapping import EVENT_MAP, PublicEvent, to_public_event

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"
COMMAND_CE_PREFIX = "no.saksflyt.command."


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k == name), None)


def cloudevent_headers(
    ce_id: UUID, ce_type: str, source: str, subject: UUID, time: datetime
) -> list[tuple[str, bytes]]:
    values = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": str(ce_id),
        "ce_type": ce_type,
        "ce_source": source,
        "ce_subject": str(subject),
        "ce_time": time.isoformat(),
        "content-type": CONTENT_TYPE,
    }
    return [(k, v.encode()) for k, v in values.items()]


def public_event_for(
    domain_event: object, service: str, kommunenummer: str, codec: AvroCodec
) -> PublicEvent:
    """The public record in the newest schema version of its type."""
    suffix = type(domain_event).TOPIC.removeprefix("saksflyt.application.")  # type: ignore[attr-defined]
    version = codec.registry.latest(EVENT_MAP[suffix][0]).version
    return to_public_event(domain_event, service, kommunenummer, version)


def event_record(event: PublicEvent, codec: AvroCodec) -> KafkaRecord:
    r = event.record
    source = f"/kommune/{r['kommunenummer']}/{r['service']}"
    return KafkaRecord(
        key=str(event.case_id).encode(),
        value=codec.encode(event.name, event.record),
        headers=cloudevent_headers(
            event.event_id, event.ce_type, source, event.case_id, r["occurred_at"]
        ),
    )


def command_record(name: str, record: dict[str, Any], codec: AvroCodec) -> KafkaRecord:
    """A command for ``saksflyt.commands``: keyed by case so one case's commands keep their order."""
    version = codec.registry.latest(name).version
    case_id = UUID(str(record["case_id"]))
    return KafkaRecord(
        key=str(case_id).encode(),
        value=codec.encode(name, record),
        headers=cloudevent_headers(
            UUID(str(record["command_id"])),
            f"{COMMAND_CE_PREFIX}{name}.v{version}",
            f"/system/{record['issued_by']}",
            case_id,
            record["issued_at"],
        ),
    )
