"""The Avro schemas of our public messages, loaded from the versioned ``.avsc`` files.

Files live in ``schemas/events`` and ``schemas/commands`` as ``<stem>.v<N>.avsc``; the record name
inside (e.g. ``ApplicationSubmitted``) is the message type. The highest N is what we write now.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).resolve().parent
FILE_NAME = re.compile(r"^(?P<stem>[a-z0-9_]+)\.v(?P<version>\d+)\.avsc$")
KINDS = ("events", "commands")


@dataclass(frozen=True)
class SchemaVersion:
    name: str  # record name, the message type: "ApplicationSubmitted"
    namespace: str
    stem: str  # file stem: "application_submitted"
    kind: str  # "events" or "commands"
    version: int
    path: Path
    raw: dict[str, Any]
    # parsed once, with fastavro's mark of a parsed schema: without the mark, every
    # ``schemaless_writer`` and ``schemaless_reader`` call parses the schema again (about half
    # of what encoding or decoding one event cost)
    parsed: dict[str, Any]
    fingerprint: bytes  # CRC-64-AVRO of the parsing canonical form, little-endian, 8 bytes


def load_schema_file(path: Path, kind: str) -> SchemaVersion:
    match = FILE_NAME.match(path.name)
    if match is None:
        raise ValueError(f"{path.name}: schema files are named <stem>.v<N>.avsc")
    raw = json.loads(path.read_text(encoding="utf-8"))
    parsed = parse_schema(raw)
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ValueError(f"{path.name}: a message schema is one record")
    canonical = to_parsing_canonical_form(raw)
    return SchemaVersion(
        name=raw["name"],
        namespace=raw.get("namespace", ""),
        stem=match["stem"],
        kind=kind,
        version=int(match["version"]),
        path=path,
        raw=raw,
        parsed=parsed,
        fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
    )


class Registry:
    """Every schema version by message type and by fingerprint."""

    def __init__(self, schemas: Iterable[SchemaVersion]) -> None:
        self._by_name: dict[str, list[SchemaVersion]] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for schema in schemas:
            self._by_name.setdefault(schema.name, []).append(schema)
            self._by_fingerprint[schema.fingerprint] = schema
        for versions in self._by_name.values():
            versions.sort(key=lambda s: s.version)

    @classmethod
    def from_directory(cls, root: Path = SCHEMA_DIR) -> Registry:
        return cls(
            load_schema_file(path, kind)
            for kind in KINDS
            for path in sorted((root / kind).glob("*.avsc"))
        )

    def names(self, kind: str | None = None) -> list[str]:
        return sorted(n for n, v in self._by_name.items() if kind is None or v[0].kind == kind)

    def versions(self, name: str) -> list[SchemaVersion]:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no schema for message type {name!r}") from None

    def latest(self, name: str) -> SchemaVersion:
        return self.versions(name)[-1]

    def version(self, name: str, version: int) -> SchemaVersion:
        for schema in self.versions(name):
            if schema.version == version:
                return schema
        raise KeyError(f"no version {version} of {name}")

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(fp)


@cache
def default_registry() -> Registry:
    return Registry.from_directory()
