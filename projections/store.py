"""The one writer of the read models: applies row changes and the position in one transaction.

``ProjectionWriter`` buffers public events (from Kafka, or in-process from the event store) and
hands them to ``ProjectionStore.apply`` a batch at a time; in-process delivery passes its position
to ``flush`` so it is stored with the rows and a restart goes on where it stopped.

Each event is applied at most once per case: the case row remembers the last applied version, so a
redelivered or replayed event (at-least-once upstream) is dropped as a duplicate. Migrations are
explicit and numbered (``projection_schema``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from projections.batch import FoldedChanges
from projections.changes import DeleteWhere, Increment, RowChange, Upsert
from projections.database import Database
from projections.overview import Row
from projections.projector import project
from projections.tables import (
    INDEXES,
    MIGRATIONS,
    READ_MODELS,
    SQL_TYPES,
    TABLES,
    create_index_sql,
    create_table_sql,
)
from schemas.mapping import PublicEvent

STATUS_NAME = "caseflow"
LOAD_CHUNK = 500


@dataclass
class Applied:
    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0  # events no read model could take, kept in projection_dead_letters


class ProjectionStore:
    def __init__(self, db: Database, suffix: str = "") -> None:
        self.db, self.suffix = db, suffix
        self._texts: dict[tuple[Any, ...], str] = {}  # statement text by shape (see _statement)

    def t(self, name: str) -> str:
        return name + self.suffix

    # ----- schema -------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations not yet applied; return the schema version."""
        with self.db.transaction():
            self.db.lock("saksflyt-projection-migrations")  # one migrating process at a time
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS projection_schema (version INTEGER NOT NULL)"
            )
            found = self.db.rows("SELECT MAX(version) AS version FROM projection_schema")
            current = found[0]["version"] or 0
            for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in migration(self.db.dialect):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO projection_schema (version) VALUES (?)", (version,))
        return len(MIGRATIONS)

    def create_fresh(self) -> None:
        """Empty read-model tables under this store's suffix, for a rebuild (no indexes yet)."""
        with self.db.transaction():
            for table in READ_MODELS:
                self.db.execute(f"DROP TABLE IF EXISTS {self.t(table.name)}")
                self.db.execute(create_table_sql(table, self.db.dialect, self.t(table.name)))

    def swap_into_place(self, mark: tuple[str, int] | None = None) -> None:
        """In one transaction, the rebuilt tables replace the live ones: no reader sees half.

        ``mark`` (source, position) says how far the rebuilt tables have read that source.
        """
        with self.db.transaction():
            if mark is not None:
                self._save_position(*mark)
            for table in READ_MODELS:
                self.db.execute(f"DROP TABLE {table.name}")
                self.db.execute(f"ALTER TABLE {self.t(table.name)} RENAME TO {table.name}")
            for table_name, columns in INDEXES:
                self.db.execute(create_index_sql(table_name, columns))

    # ----- writing ------------------------------------------------------------------------------

    def _load(self, case_ids: set[str]) -> dict[str, Row]:
        """The current rows of these cases, in as few queries as the batch allows."""
        found: dict[str, Row] = {}
        ids = sorted(case_ids)
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = ids[start : start + LOAD_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for row in self.db.rows(
                f"SELECT * FROM {self.t('case_overview')} WHERE case_id IN ({marks})",
                chunk,
                table="case_overview",
            ):
                found[row["case_id"]] = row
        return found

    def position(self, source: str) -> int:
        """The position recorded for ``source`` with the rows (0 if none)."""
        kept = self.kept_position(source)
        return 0 if kept is None else kept

    def kept_position(self, source: str) -> int | None:
        """The position recorded for ``source``, or None: it has never been read."""
        rows = self.db.rows("SELECT position FROM projection_position WHERE source = ?", (source,))
        return int(rows[0]["position"]) if rows else None

    def keep_position(self, source: str, position: int) -> None:
        """Record how far ``source`` has been read, on its own (no rows with it)."""
        with self.db.transaction():
            self._save_position(source, position)

    def _save_position(self, source: str, position: int) -> None:
        self.db.execute(
            "INSERT INTO projection_position (source, position) VALUES (?, ?) "
            "ON CONFLICT (source) DO UPDATE SET position = excluded.position",
            (source, position),
        )

    def apply(self, events: Iterable[PublicEvent], mark: tuple[str, int] | None = None) -> Applied:
        """Apply a batch in one transaction; drop events already applied to their case.

        ``mark`` (source, position) is stored in the same transaction: how far that source has
        been read once these rows are in.
        """
        events = list(events)
        result, last_event_at = Applied(), None
        folded = FoldedChanges()
        with self.db.transaction():
            cases = self._load({str(e.record["case_id"]) for e in events})
            for event in events:
                case_id = str(event.record["case_id"])
                before = cases.get(case_id)
                if before is not None and before["version"] >= event.record["case_version"]:
                    result.duplicates += 1
                    continue
                try:
                    cases[case_id], changes = project(before, event)
                except (ArithmeticError, ValueError, TypeError, KeyError) as error:
                    self._quarantine(event, error)  # stored by an older version: set aside
                    result.quarantined += 1
                    continue
                for change in changes:
                    folded.add(change)
                result.applied += 1
                last_event_at = max(filter(None, (last_event_at, event.record["occurred_at"])))
            self._execute(folded.in_order())
            if not self.suffix:
                self._record_status(result, last_event_at)
            if mark is not None:
                self._save_position(*mark)
        return result

    def _quarantine(self, event: PublicEvent, error: Exception) -> None:
        """Keep an event the projector cannot apply, with why, and carry on with the rest."""
        r = event.record
        self.db.execute(
            "INSERT INTO projection_dead_letters (event_id, case_id, case_version, event, reason,"
            " quarantined_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (
                str(r["event_id"]),
                str(r["case_id"]),
                r["case_version"],
                event.name,
                type(error).__name__,
                datetime.now(UTC),
            ),
        )

    def _record_status(self, result: Applied, last_event_at: datetime | None) -> None:
        """Counts, and the newest event time seen so far (events of different cases come in any
        order; compared as times here, since SQLite keeps them as text with their offsets)."""
        found = self.db.rows(
            "SELECT last_event_at FROM projection_status WHERE name = ?",
            (STATUS_NAME,),
            table="projection_status",
        )
        before = found[0]["last_event_at"] if found else None
        if before is not None and (last_event_at is None or before > last_event_at):
            last_event_at = before
        self.db.execute(
            "INSERT INTO projection_status (name, events_applied, duplicates_dropped, last_event_at,"
            " last_applied_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " events_applied = projection_status.events_applied + excluded.events_applied,"
            " duplicates_dropped = projection_status.duplicates_dropped + excluded.duplicates_dropped,"
            " last_event_at = COALESCE(excluded.last_event_at, projection_status.last_event_at),"
            " last_applied_at = excluded.last_applied_at",
            (STATUS_NAME, result.applied, result.duplicates, last_event_at, datetime.now(UTC)),
        )

    def _execute(self, changes: list[RowChange]) -> None:
        """The changes in order, one statement per shape (kind, table, columns), all of them in
        one pipeline.

        Within each kind (deletions, rows, counters) a batch touches each row once (folded), so
        the order inside a kind is free and each shape's changes go together: PostgreSQL gets
        them as one array per column in one statement (``INSERT … SELECT * FROM unnest(…) ON
        CONFLICT …``, ``DELETE … USING unnest(…)``), SQLite as one ``executemany``. Shapes come
        in the order of their first change, so every deletion still goes before every row and
        every row before every counter."""
        runs: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for change in changes:
            shape, params = _shape(change)
            runs.setdefault(shape, []).append(params)
        columnar = self.db.dialect == "postgres"
        with self.db.pipeline():
            for shape, rows in runs.items():
                sql = self._texts.get(shape)
                if sql is None:
                    sql = self._texts[shape] = self._make_sql(shape, columnar)
                if columnar:
                    self.db.execute_columns(sql, [list(c) for c in zip(*rows, strict=True)])
                else:
                    self.db.executemany(sql, rows)

    def _make_sql(self, shape: tuple[Any, ...], columnar: bool) -> str:
        """A shape's statement: for one row (a ``?`` for each value), or ``columnar`` for all
        its rows (a ``?`` for each column's array, PostgreSQL)."""
        kind, table, columns = shape[:3]
        name, kinds = self.t(table), TABLES[table].kinds

        def values(names: tuple[str, ...]) -> str:
            if columnar:
                types = SQL_TYPES["postgres"]
                return f"unnest({', '.join(f'?::{types[kinds[c]]}[]' for c in names)})"
            return f"VALUES ({', '.join('?' for _ in names)})"

        if kind is DeleteWhere:
            if columnar:
                matches = " AND ".join(f"{name}.{c} = gone.{c}" for c in columns)
                gone = f"{values(columns)} AS gone ({', '.join(columns)})"
                return f"DELETE FROM {name} USING {gone} WHERE {matches}"
            return f"DELETE FROM {name} WHERE {' AND '.join(f'{c} = ?' for c in columns)}"
        if kind is Increment:
            # every counter, adding 0 to those the change leaves: one statement per table
            key, counters = columns, _counters(table, columns)
            columns = (*key, *counters)
            updates = ", ".join(f"{c} = {name}.{c} + excluded.{c}" for c in counters)
        else:
            key = shape[3]
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        rows = f"SELECT * FROM {values(columns)}" if columnar else values(columns)
        return (
            f"INSERT INTO {name} ({', '.join(columns)}) {rows} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )


def _shape(change: RowChange) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What decides a change's statement (its kind, table and columns), and its values."""
    if isinstance(change, Upsert):
        shape = (Upsert, change.table, tuple(change.values), change.key)
        return shape, tuple(change.values.values())
    if isinstance(change, Increment):
        key = tuple(change.key)
        counts = (change.counts.get(c, 0) for c in _counters(change.table, key))
        return (Increment, change.table, key), (*change.key.values(), *counts)
    return (DeleteWhere, change.table, tuple(change.where)), tuple(change.where.values())


@cache
def _counters(table: str, key: tuple[str, ...]) -> tuple[str, ...]:
    """The counter columns of a table of counters: all but its key."""
    return tuple(c for c, _ in TABLES[table].columns if c not in key)


EVENT_STORE_SOURCE = "event-store"  # the position name of in-process delivery


class Reporter(Protocol):
    """Who hears of every applied batch (``saksflyt`` wires in Prometheus)."""

    def projected(self, applied: int, duplicates: int, newest: datetime | None) -> None: ...


class _Silent:
    def projected(self, applied: int, duplicates: int, newest: datetime | None) -> None:
        return None


class ProjectionWriter:
    def __init__(
        self,
        store: ProjectionStore,
        batch_size: int = 500,
        telemetry: Reporter | None = None,
        source: str = EVENT_STORE_SOURCE,
    ) -> None:
        self.store, self.batch_size = store, batch_size
        self.telemetry = telemetry or _Silent()
        self.source = source
        self.buffer: list[PublicEvent] = []
        self.applied = self.duplicates = 0

    def __call__(self, event: PublicEvent) -> None:
        self.buffer.append(event)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def position(self) -> int:
        """How far in-process delivery has brought these read models (0: from the start)."""
        return self.store.position(self.source)

    def flush(self, position: int | None = None) -> None:
        """Apply what is buffered; with ``position``, record it in the same transaction."""
        if not self.buffer and position is None:
            return
        mark = (self.source, position) if position is not None else None
        result = self.store.apply(self.buffer, mark)
        newest = max((e.record["occurred_at"] for e in self.buffer), default=None)
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.buffer = []
        self.telemetry.projected(result.applied, result.duplicates, newest)
