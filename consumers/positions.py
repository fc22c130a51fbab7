"""Where the relay remembers how far it has published, and the lock that keeps it the only relay.

PostgreSQL: a row in ``saksflyt_relay_position`` and a session advisory lock. SQLite: a table in the
event store file and an exclusive ``flock`` on a lock file beside it. A second relay waits for the
lock; it takes over the moment the first one stops or dies (the lock goes with its connection or
process).

A saved position does not wait for the disk (SQLite ``synchronous=NORMAL``, PostgreSQL
``synchronous_commit=off``): a position lost to a power cut publishes its batches again, duplicates
consumers drop by event id, as after a relay killed between produce and save.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

POLL_S = 0.5


class RelayPosition(Protocol):
    def acquire(self, stop: threading.Event) -> bool: ...
    def load(self) -> int: ...
    def save(self, position: int) -> None: ...
    def release(self) -> None: ...


class SqliteRelayPosition:
    def __init__(self, db_path: Path, name: str = "saksflyt.events") -> None:
        self.db_path, self.name = db_path, name
        self._lock_file = open(db_path.with_suffix(db_path.suffix + ".relay-lock"), "a")  # noqa: SIM115
        self._conn = sqlite3.connect(db_path, timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a commit without an fsync
        with self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS saksflyt_relay_position "
                "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)"
            )

    def acquire(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                stop.wait(POLL_S)
        return False

    def load(self) -> int:
        row = self._conn.execute(
            "SELECT position FROM saksflyt_relay_position WHERE name = ?", (self.name,)
        ).fetchone()
        return int(row[0]) if row else 0

    def save(self, position: int) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO saksflyt_relay_position (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (self.name, position),
            )

    def release(self) -> None:
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()
        self._conn.close()


class PostgresRelayPosition:
    def __init__(self, url: str, schema: str = "public", name: str = "saksflyt.events") -> None:
        self.name = name
        self._lock_name = f"saksflyt-relay/{schema}/{name}"  # one relay per event store and topic
        self._conn = psycopg.connect(url, autocommit=True)
        self._conn.execute("SET synchronous_commit = off")
        self._table = sql.Identifier(schema, "saksflyt_relay_position")
        with self._conn.transaction():  # processes starting together must not race to create it
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('saksflyt-relay-table'))")
            self._conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
                ).format(self._table)
            )

    def acquire(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (self._lock_name,)
            ).fetchone()
            if row and row[0]:
                return True
            stop.wait(POLL_S)
        return False

    def load(self) -> int:
        row = self._conn.execute(
            sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._table), (self.name,)
        ).fetchone()
        return int(row[0]) if row else 0

    def save(self, position: int) -> None:
        self._conn.execute(
            sql.SQL(
                "INSERT INTO {} (name, position) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
            ).format(self._table),
            (self.name, position),
        )

    def release(self) -> None:
        self._conn.close()  # the advisory lock goes with the session
