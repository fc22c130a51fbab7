"""Backward compatibility between schema versions, checked by Apache Avro's reference checker.

"Backward" means a reader holding the new schema can read data written with the old one. The
Avro project's own ``avro.compatibility`` applies the specification's resolution rules (new fields
need defaults, only promotions widen types, named types — records, enums, fixed — keep their names
or alias them, enums keep their symbols or have a default, fixed keep their size). We add only what
it does not check: a doc on every record and field.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas.registry import Registry, SchemaVersion


def problems(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Why ``reader`` cannot read what ``writer`` wrote; empty when it can."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = ", ".join(sorted({i.value for i in result.incompatibilities}))
    where = ", ".join(sorted(result.locations))
    details = "; ".join(sorted(result.messages))
    return [f"{kinds} at {where}: {details}"]


def missing_docs(schema: dict[str, Any]) -> list[str]:
    found = [] if schema.get("doc") else [f"{schema['name']}: record has no doc"]
    found += [
        f"{schema['name']}.{f['name']}: field has no doc"
        for f in schema["fields"]
        if not f.get("doc")
    ]
    return found


def _incompatible(old: SchemaVersion, new: SchemaVersion) -> list[str]:
    return [f"{new.path.name} cannot read v{old.version}: {p}" for p in problems(new.raw, old.raw)]


def check_registry(registry: Registry) -> list[str]:
    """Every version against its predecessor, plus docs on every record and field."""
    found: list[str] = []
    for name in registry.names():
        versions = registry.versions(name)
        for schema in versions:
            found += [f"{schema.path.name}: {p}" for p in missing_docs(schema.raw)]
        for old, new in itertools.pairwise(versions):
            found += _incompatible(old, new)
    return found
