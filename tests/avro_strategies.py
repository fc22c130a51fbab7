"""Hypothesis strategies that make records for any of our Avro schemas, from the schema itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
MILLIS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
LOGICAL = {
    "uuid": st.uuids(),
    "timestamp-millis": MILLIS,
    "date": st.dates(),
}
PRIMITIVE = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": INT32,
    "long": INT64,
    "string": st.text(max_size=40),
    "bytes": st.binary(max_size=40),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
}


def records(schema: Any) -> st.SearchStrategy[Any]:
    if isinstance(schema, list):
        return st.one_of(*(records(branch) for branch in schema))
    if isinstance(schema, str):
        return PRIMITIVE[schema]
    logical = schema.get("logicalType")
    if logical in LOGICAL:
        return LOGICAL[logical]
    kind = schema["type"]
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: records(f["type"]) for f in schema["fields"]})
    if kind == "array":
        return st.lists(records(schema["items"]), max_size=4)
    return records(kind)
