"""The eventsourcing library's process recorders, able to commit a group of commands at once.

``Casework.handle_batch`` (group commit) needs two things the library's recorders do one at a time:
which of many command ids are recorded already (one read, ``tracked``), and several tracking
records written in the same transaction as the events of several cases (``insert_events(...,
trackings=[...])``). Chosen by ``PROCESS_RECORDER_TOPIC`` in ``Settings.eventsourcing_env``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteProcessRecorder
from psycopg.sql import SQL, Identifier

SQLITE = "saksflyt.recorders:SQLiteGroupRecorder"
POSTGRES = "saksflyt.recorders:PostgresGroupRecorder"


class SQLiteGroupRecorder(SQLiteProcessRecorder):
    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        trackings: Sequence[Tracking] = kwargs.get("trackings", ())
        for tracking in trackings:
            self._insert_tracking(c, tracking)
        return returning

    def tracked(self, names: Sequence[str]) -> set[str]:
        """Which of these tracking names are recorded (the library's tracking table is ``tracking``)."""
        found: set[str] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(names), 500):  # SQLite's bound on parameters
                chunk = list(names[start : start + 500])
                marks = ",".join("?" * len(chunk))
                c.execute(
                    f"SELECT application_name FROM tracking WHERE application_name IN ({marks})",
                    chunk,
                )
                found.update(row[0] for row in c.fetchall())
        return found


class PostgresGroupRecorder(PostgresProcessRecorder):
    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        trackings: Sequence[Tracking] = kwargs.get("trackings", ())
        for tracking in trackings:
            self._insert_tracking(curs, tracking)
        super()._insert_events(curs, stored_events, **kwargs)

    def tracked(self, names: Sequence[str]) -> set[str]:
        if not names:
            return set()
        query = SQL("SELECT application_name FROM {}.{} WHERE application_name = ANY(%s)").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query, (list(names),))
            return {row["application_name"] for row in curs.fetchall()}
