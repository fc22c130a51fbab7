"""The eventsourcing library's process recorders, able to commit a group of commands at once.

``Casework.handle_batch`` (group commit) needs two things the library's recorders do one at a time:
which of many command ids are recorded already (one read, ``tracked``), every event of many
cases in one read (``events_of``), and several tracking records written in the same transaction as
the events of several cases (``insert_events(..., trackings=[...])``). Chosen by
``PROCESS_RECORDER_TOPIC`` in ``Settings.eventsourcing_env``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

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
        select = "SELECT application_name FROM tracking WHERE application_name IN ({marks})"
        with self.datastore.transaction(commit=False) as c:
            return {row[0] for row in _rows_in(c, select, names)}

    def events_of(self, case_ids: Collection[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of these cases, each case's in version order."""
        select = (
            f"SELECT originator_id, originator_version, topic, state FROM {self.events_table_name}"
            " WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version"
        )
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.transaction(commit=False) as c:
            for row in _rows_in(c, select, [case_id.hex for case_id in case_ids]):
                case_id = UUID(row[0])
                found.setdefault(case_id, []).append(StoredEvent(case_id, row[1], row[2], row[3]))
        return found


def _rows_in(c: Any, select: str, values: Sequence[str]) -> Iterator[Any]:
    """The rows of ``select`` for every value, its ``IN ({marks})`` bound in chunks SQLite takes
    (500 values each; a case's events all come with its own chunk, so their order holds)."""
    for start in range(0, len(values), 500):
        chunk = list(values[start : start + 500])
        c.execute(select.format(marks=",".join("?" * len(chunk))), chunk)
        yield from c.fetchall()


class PostgresGroupRecorder(PostgresProcessRecorder):
    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        trackings: Sequence[Tracking] = kwargs.get("trackings", ())
        if trackings:  # one statement for them all
            self._check_has_multi_row_tracking_table(curs)
            curs.execute(
                SQL(
                    "INSERT INTO {}.{} (application_name, notification_id)"
                    " SELECT * FROM unnest(%s::text[], %s::bigint[])"
                ).format(Identifier(self.datastore.schema), Identifier(self.tracking_table_name)),
                (
                    [t.application_name for t in trackings],
                    [t.notification_id for t in trackings],
                ),
            )
        super()._insert_events(curs, stored_events, **kwargs)

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A cursor for one SELECT, outside a transaction (the connection is in autocommit), as
        the library reads. Not ``datastore.transaction(commit=False)``: its ROLLBACK makes psycopg
        forget the connection's prepared statements (``DEALLOCATE ALL``), so every statement
        on it, the writes too, was parsed afresh each time."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            yield curs

    def tracked(self, names: Sequence[str]) -> set[str]:
        if not names:
            return set()
        query = SQL("SELECT application_name FROM {}.{} WHERE application_name = ANY(%s)").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )
        with self._reading() as curs:
            curs.execute(query, (list(names),))
            return {row["application_name"] for row in curs.fetchall()}

    def events_of(self, case_ids: Collection[UUID]) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = {}
        if not case_ids:
            return found
        query = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self._reading() as curs:
            curs.execute(query, (list(case_ids),))
            for row in curs.fetchall():
                case_id = row["originator_id"]
                found.setdefault(case_id, []).append(
                    StoredEvent(
                        case_id, row["originator_version"], row["topic"], bytes(row["state"])
                    )
                )
        return found
