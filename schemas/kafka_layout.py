"""How a public message sits in a Kafka record: key, value and CloudEvents binary-mode headers.

Events are laid out by ``consumers.public_events``; commands here, for their senders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from schemas.codec import AvroCodec
from schemas.registry import SchemaVersion

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"
COMMAND_CE_PREFIX = "no.saksflyt.command."
# ce_dataschema: names the schema file (schemas/<kind>/<file> in this repository); an identifier,
# not fetched, like the problem types of the HTTP API
SCHEMA_BASE = "https://saksflyt.no/schemas/"


def dataschema(schema: SchemaVersion) -> str:
    """The ``ce_dataschema`` of a message written with ``schema``."""
    return _dataschema_at(schema.path)


def _dataschema_at(path: Path) -> str:
    return f"{SCHEMA_BASE}{path.parent.name}/{path.name}"


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k == name), None)


def cloudevent_headers(
    ce_id: UUID | str,
    ce_type: str,
    source: str,
    subject: UUID | str,
    time: datetime,
    schema: SchemaVersion,
) -> list[tuple[str, bytes]]:
    """The CloudEvents headers of one record (ids as UUIDs or their canonical strings)."""
    fixed_type, fixed_source, fixed_schema = _encoded(ce_type, source, schema.path)
    return [
        ("ce_specversion", _SPEC_VERSION),
        ("ce_id", str(ce_id).encode()),
        ("ce_type", fixed_type),
        ("ce_source", fixed_source),
        ("ce_subject", str(subject).encode()),
        ("ce_time", time.isoformat().encode()),
        ("ce_dataschema", fixed_schema),
        ("content-type", _CONTENT_TYPE),
    ]


_SPEC_VERSION, _CONTENT_TYPE = SPEC_VERSION.encode(), CONTENT_TYPE.encode()


@lru_cache(maxsize=4096)  # a few hundred (type, source) pairs: encoded once, not per record
def _encoded(ce_type: str, source: str, schema_at: Path) -> tuple[bytes, bytes, bytes]:
    return ce_type.encode(), source.encode(), _dataschema_at(schema_at).encode()


def command_record(name: str, record: dict[str, Any], codec: AvroCodec) -> KafkaRecord:
    """A command for ``saksflyt.commands``: keyed by case so one case's commands keep their order."""
    schema = codec.registry.latest(name)
    case_id = UUID(str(record["case_id"]))
    return KafkaRecord(
        key=str(case_id).encode(),
        value=codec.encode(name, record),
        headers=cloudevent_headers(
            UUID(str(record["command_id"])),
            f"{COMMAND_CE_PREFIX}{name}.v{schema.version}",
            f"/system/{record['issued_by']}",
            case_id,
            record["issued_at"],
            schema,
        ),
    )
