"""Correlation ids for log lines: bound around a unit of work, added to every line inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CURRENT: ContextVar[dict[str, str]] = ContextVar("saksflyt_correlation", default={})  # noqa: B039


@contextmanager
def correlation(**ids: Any) -> Iterator[None]:
    """``with correlation(command_id=…, case_id=…):`` — ids only, never personal data."""
    merged = {**_CURRENT.get(), **{k: str(v) for k, v in ids.items() if v is not None}}
    token = _CURRENT.set(merged)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> dict[str, str]:
    return _CURRENT.get()
