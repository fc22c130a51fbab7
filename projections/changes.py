"""Row changes: what a projection decides, separate from the writer that carries it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Upsert:
    """Insert the row, or replace its values where the key exists."""

    table: str
    key: tuple[str, ...]
    values: dict[str, Any]


@dataclass(frozen=True)
class Increment:
    """Add to counters of the row with this key, creating it at zero first."""

    table: str
    key: dict[str, Any]
    counts: dict[str, int]


@dataclass(frozen=True)
class DeleteWhere:
    table: str
    where: dict[str, Any]


RowChange = Upsert | Increment | DeleteWhere
