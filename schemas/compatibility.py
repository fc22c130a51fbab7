"""Backward compatibility between schema versions, by the Avro specification's resolution rules.

"Backward" means a reader holding the new schema can read data written with the old one: every new
field needs a default, types may only widen by Avro promotion, enums may only gain symbols.
"""

from __future__ import annotations

import itertools
from typing import Any

from schemas.registry import Registry

PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
Schema = Any  # an Avro schema in its JSON form: str, list (union) or dict


def _kind(schema: Schema) -> str:
    """After ``_unwrap``: "union", a complex type's name ("record", "array" …) or a primitive."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def _unwrap(schema: Schema) -> Schema:
    """``{"type": "long", "logicalType": …}`` reads like ``"long"``: logical types do not resolve."""
    if isinstance(schema, dict) and schema.get("type") in PRIMITIVES:
        return schema["type"]
    if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
        return _unwrap(schema["type"])
    return schema


def problems(reader: Schema, writer: Schema, path: str = "") -> list[str]:
    """Why ``reader`` cannot read what ``writer`` wrote; empty when it can."""
    reader, writer = _unwrap(reader), _unwrap(writer)
    if isinstance(writer, list):
        return [p for branch in writer for p in problems(reader, branch, path)]
    if isinstance(reader, list):
        if any(not problems(branch, writer, path) for branch in reader):
            return []
        return [f"{path or '/'}: no branch of the new union reads the old {_kind(writer)}"]
    r_kind, w_kind = _kind(reader), _kind(writer)
    if r_kind != w_kind:
        if (w_kind, r_kind) in PROMOTIONS:
            return []
        return [f"{path or '/'}: type changed from {w_kind} to {r_kind}"]
    checker = _COMPLEX.get(r_kind)
    return checker(reader, writer, path) if checker else []


def _record(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    if reader["name"] != writer["name"] and writer["name"] not in reader.get("aliases", []):
        return [f"{path or '/'}: record renamed from {writer['name']} to {reader['name']}"]
    old = {f["name"]: f for f in writer["fields"]}
    found: list[str] = []
    for field in reader["fields"]:
        names = [field["name"], *field.get("aliases", [])]
        match = next((old[n] for n in names if n in old), None)
        where = f"{path}/{field['name']}"
        if match is None:
            if "default" not in field:
                found.append(f"{where}: new field without a default")
        else:
            found += problems(field["type"], match["type"], where)
    return found


def _enum(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    missing = set(writer["symbols"]) - set(reader["symbols"])
    if missing and "default" not in reader:
        return [f"{path or '/'}: enum lost symbols {sorted(missing)}"]
    return []


def _array(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    return problems(reader["items"], writer["items"], f"{path}[]")


def _map(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    return problems(reader["values"], writer["values"], f"{path}{{}}")


def _fixed(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    if reader["size"] != writer["size"]:
        return [f"{path or '/'}: fixed size changed from {writer['size']} to {reader['size']}"]
    return []


_COMPLEX = {"record": _record, "enum": _enum, "array": _array, "map": _map, "fixed": _fixed}


def missing_docs(schema: dict[str, Any]) -> list[str]:
    found = [] if schema.get("doc") else [f"{schema['name']}: record has no doc"]
    found += [
        f"{schema['name']}.{f['name']}: field has no doc"
        for f in schema["fields"]
        if not f.get("doc")
    ]
    return found


def check_registry(registry: Registry) -> list[str]:
    """Every version against its predecessor, plus docs on every record and field."""
    found: list[str] = []
    for name in registry.names():
        versions = registry.versions(name)
        for schema in versions:
            found += [f"{schema.path.name}: {p}" for p in missing_docs(schema.raw)]
        for old, new in itertools.pairwise(versions):
            found += [
                f"{new.path.name} cannot read v{old.version}: {p}"
                for p in problems(new.raw, old.raw)
            ]
    return found
