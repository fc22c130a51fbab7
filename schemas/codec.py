"""Avro single-object encoding: ``C3 01`` + 8-byte CRC-64-AVRO fingerprint + Avro binary body.

Any Avro library can decode our messages given the ``.avsc`` files: the fingerprint names the
writer's schema, and decoding resolves it to the newest schema of the same message type. Every way
bytes can be wrong ends in one :class:`UndecodableMessage` with the reason.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import LOGICAL_READERS

from schemas.registry import Registry, SchemaVersion, default_registry

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


class UndecodableMessage(ValueError):
    """The bytes are not a message we can read; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"undecodable message: {reason}")


class UnencodableRecord(ValueError):
    """A record does not fit its schema (a bug on our side, never the reader's)."""


@dataclass(frozen=True)
class Decoded:
    name: str  # message type, e.g. "ApplicationSubmitted"
    writer_version: int  # version the sender wrote; the record is in the newest version's shape
    record: dict[str, Any]


class AvroCodec:
    """``ids_as_text``: decode ``uuid`` fields as their canonical text instead of ``UUID``
    objects, for a consumer that only stores or compares them (the read models): making the
    objects was ~4 % of the projector's time, and it turned each one back into text. What is not
    a UUID is undecodable either way."""

    def __init__(self, registry: Registry | None = None, ids_as_text: bool = False) -> None:
        self.registry = registry or default_registry()
        self.ids_as_text = ids_as_text
        self._text_ids: dict[bytes, dict[str, Any]] = {}  # parsed schemas by fingerprint

    def encode(self, name: str, record: dict[str, Any], version: int | None = None) -> bytes:
        schema = (
            self.registry.latest(name) if version is None else self.registry.version(name, version)
        )
        buffer = io.BytesIO()
        buffer.write(MAGIC + schema.fingerprint)
        try:
            schemaless_writer(buffer, schema.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise UnencodableRecord(f"{name} v{schema.version}: {error}") from error
        return buffer.getvalue()

    def writer_schema(self, data: bytes) -> SchemaVersion:
        if len(data) < HEADER_SIZE:
            raise UndecodableMessage(
                f"{len(data)} bytes is shorter than the {HEADER_SIZE}-byte header"
            )
        if data[:2] != MAGIC:
            raise UndecodableMessage(f"wrong magic {data[:2].hex()}, expected c301 (single-object)")
        writer = self.registry.by_fingerprint(data[2:HEADER_SIZE])
        if writer is None:
            raise UndecodableMessage(f"unknown schema fingerprint {data[2:HEADER_SIZE].hex()}")
        return writer

    def decode(self, data: bytes) -> Decoded:
        writer = self.writer_schema(data)
        reader = self.registry.latest(writer.name)
        body = io.BytesIO(data[HEADER_SIZE:])
        try:
            # Resolution only where versions differ: it costs about a third more a message.
            record = schemaless_reader(
                body, self._parsed(writer), None if reader is writer else self._parsed(reader)
            )
        except Exception as error:  # fastavro raises many kinds on bad bytes: one answer for all
            raise UndecodableMessage(
                f"{writer.name} v{writer.version}: corrupt body ({type(error).__name__}: {error})"
            ) from None
        trailing = len(data) - HEADER_SIZE - body.tell()
        if trailing:
            raise UndecodableMessage(f"{writer.name} v{writer.version}: {trailing} trailing bytes")
        if not isinstance(record, dict):
            raise UndecodableMessage(f"{writer.name}: body is not a record")
        return Decoded(writer.name, writer.version, record)

    def _parsed(self, schema: SchemaVersion) -> dict[str, Any]:
        """The parsed schema to read with: as it is, or with its ``uuid`` types read as text."""
        if not self.ids_as_text:
            return schema.parsed
        if schema.fingerprint not in self._text_ids:
            parsed = parse_schema(_uuids_as_text(schema.raw))  # marked parsed, as the registry's
            assert isinstance(parsed, dict)  # a message schema is one record
            self._text_ids[schema.fingerprint] = parsed
        return self._text_ids[schema.fingerprint]


_UUID_TEXT = "saksflyt-uuid-text"  # a logical type of our own: a uuid read as its text
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_text(text: str, *_: Any) -> str:
    """A uuid as its canonical text: as it is when it is (what the relay writes), else through
    ``UUID``, which raises for what is not one, as reading it as ``UUID`` does."""
    return text if _CANONICAL.fullmatch(text) else str(UUID(text))


LOGICAL_READERS[f"string-{_UUID_TEXT}"] = _uuid_text


def _uuids_as_text(schema: Any) -> Any:
    """A schema (as JSON) whose ``uuid`` strings are read as text (``_uuid_text``)."""
    if isinstance(schema, dict):
        return {
            key: _UUID_TEXT if key == "logicalType" and value == "uuid" else _uuids_as_text(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_uuids_as_text(item) for item in schema]
    return schema
