"""Correlation ids for log lines: bound around a unit of work, added to every line inside it.

A consumed Kafka record is bound as it is (``consuming``) and its ids (topic, partition, offset,
CloudEvents id) are read from it only when a line is logged: a consumer binds every record it
handles and logs a line for few of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

_CURRENT: ContextVar[dict[str, str]] = ContextVar("saksflyt_correlation", default={})  # noqa: B039
_RECORD: ContextVar[Any] = ContextVar("saksflyt_consumed_record", default=None)


@contextmanager
def correlation(**ids: Any) -> Iterator[None]:
    """``with correlation(command_id=…, case_id=…):`` — ids only, never personal data."""
    merged = {**_CURRENT.get(), **{k: str(v) for k, v in ids.items() if v is not None}}
    token = _CURRENT.set(merged)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def consuming(record: Any) -> Token[Any]:
    """Bind a consumed Kafka record to what follows, until ``consumed(token)``."""
    return _RECORD.set(record)


def consumed(token: Token[Any]) -> None:
    _RECORD.reset(token)


def current() -> dict[str, str]:
    record = _RECORD.get()
    if record is None:
        return _CURRENT.get()
    ids = {"topic": record.topic, "partition": str(record.partition), "offset": str(record.offset)}
    ce_id = next((value for key, value in record.headers or () if key == "ce_id"), None)
    if ce_id is not None:
        ids["ce_id"] = bytes(ce_id).decode(errors="replace")
    return {**ids, **_CURRENT.get()}
