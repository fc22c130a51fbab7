"""A thin database handle that speaks to SQLite and PostgreSQL alike for the read models.

SQL is written once with ``?`` placeholders. Values go in as Python dates, datetimes and booleans
and come out the same from either database, so a row read from SQLite equals one from PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from projections.tables import TABLES


class Database:
    def __init__(
        self, dialect: str, connection: Any, reconnect: Callable[[], Any] | None = None
    ) -> None:
        self.dialect = dialect
        self._conn = connection
        self._reconnect = reconnect

    @property
    def conn(self) -> Any:
        """The connection; a PostgreSQL connection the server dropped (a restart, a failover) is
        replaced on next use. The statement that found it dropped failed, and its transaction
        with it: the caller's retry runs on the new connection."""
        if self._reconnect is not None and self._conn.broken:
            self._conn = self._reconnect()
        return self._conn

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        return cls("sqlite", conn)

    @classmethod
    def postgres(cls, url: str, schema: str | None = None, autocommit: bool = True) -> Database:
        """``autocommit`` (the default): a statement outside ``transaction()`` ends at once.
        Without it, a read outside one (a health probe, a query) opens an implicit transaction
        that every later ``transaction()`` only nests in as a savepoint: writes that look done
        and are never committed."""
        options = f"-c search_path={schema}" if schema else ""

        def connect() -> Any:
            return psycopg.connect(
                url,
                row_factory=dict_row,  # type: ignore[arg-type]
                options=options,
                autocommit=autocommit,
            )

        return cls("postgres", connect(), connect)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.dialect == "postgres":
            with self.conn.transaction():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def lock(self, name: str) -> None:
        """Inside a transaction: wait for the named lock until it ends (SQLite's write lock is
        already exclusive; PostgreSQL takes a transaction-level advisory lock)."""
        if self.dialect == "postgres":
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def _param(self, value: Any) -> Any:
        if self.dialect == "sqlite":
            if isinstance(value, (date, datetime)):
                return value.isoformat()
            if isinstance(value, bool):
                return int(value)
        return value

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(self._sql(sql), [self._param(p) for p in params])

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (PostgreSQL pipelines them: one round trip, not one each)."""
        rows = [[self._param(p) for p in row] for row in params]
        if self.dialect == "postgres":
            with self.conn.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)
        else:
            self.conn.executemany(self._sql(sql), rows)

    def rows(
        self, sql: str, params: Sequence[Any] = (), table: str | None = None
    ) -> list[dict[str, Any]]:
        """Rows as dicts; with ``table``, SQLite text is turned back into dates, times, booleans."""
        found = [
            dict(r) for r in self.conn.execute(self._sql(sql), [self._param(p) for p in params])
        ]
        if self.dialect == "sqlite" and table:
            kinds = TABLES[table].kinds
            found = [
                {k: _from_sqlite(kinds.get(k, "text"), v) for k, v in row.items()} for row in found
            ]
        return found

    def close(self) -> None:
        self.conn.close()


def _from_sqlite(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    if kind == "bool":
        return bool(value)
    return value
