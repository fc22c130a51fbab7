"""Row changes of a whole batch, folded together so each row is written once per batch.

A case whose history arrives in one batch (a rebuild, a busy consumer) would otherwise have its row
rewritten after every event. Folding keeps what matters: the last values of a row, the sum of
counters, and deletions that wipe what earlier events in the batch had added.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from projections.changes import DeleteWhere, Increment, RowChange, Upsert

UpsertKey = tuple[str, tuple[Any, ...]]


class FoldedChanges:
    def __init__(self) -> None:
        self.deletes: dict[tuple[str, tuple[tuple[str, Any], ...]], DeleteWhere] = {}
        self.upserts: dict[UpsertKey, Upsert] = {}
        self.increments: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, int]] = {}
        # (table, column) a deletion has named -> value -> upserts that had it: a deletion finds
        # what it wipes without scanning every row of the batch (a rebuild's batch is large).
        self._by_value: dict[tuple[str, str], dict[Any, set[UpsertKey]]] = {}

    def add(self, change: RowChange) -> None:
        if isinstance(change, Upsert):
            key = (change.table, tuple(change.values[k] for k in change.key))
            self.upserts[key] = change
            for (table, column), index in self._by_value.items():
                if table == change.table:
                    index.setdefault(change.values.get(column), set()).add(key)
        elif isinstance(change, Increment):
            counts = self.increments.setdefault((change.table, tuple(change.key.items())), {})
            for column, by in change.counts.items():
                counts[column] = counts.get(column, 0) + by
        else:
            self._delete(change)

    def _delete(self, change: DeleteWhere) -> None:
        """Earlier upserts the deletion matches never need to be written at all."""
        column, value = next(iter(change.where.items()))
        for key in self._index(change.table, column).pop(value, set()):
            upsert = self.upserts.get(key)
            if upsert is not None and all(
                upsert.values.get(c) == v for c, v in change.where.items()
            ):
                del self.upserts[key]
        self.deletes[(change.table, tuple(change.where.items()))] = change

    def _index(self, table: str, column: str) -> dict[Any, set[UpsertKey]]:
        index = self._by_value.get((table, column))
        if index is None:
            index = self._by_value[(table, column)] = {}
            for key, upsert in self.upserts.items():
                if upsert.table == table:
                    index.setdefault(upsert.values.get(column), set()).add(key)
        return index

    def in_order(self) -> list[RowChange]:
        """Deletions first, then the rows as they end up, then the summed counters."""
        upserts_by_table: dict[str, list[Upsert]] = defaultdict(list)
        for upsert in self.upserts.values():
            upserts_by_table[upsert.table].append(upsert)
        increments = [
            Increment(table, dict(key), counts) for (table, key), counts in self.increments.items()
        ]
        rows = [u for table in sorted(upserts_by_table) for u in upserts_by_table[table]]
        return [*self.deletes.values(), *rows, *increments]
