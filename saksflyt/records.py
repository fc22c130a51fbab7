"""The system of record beside the event store: what no rebuild and no wipe of read models drops.

Read models are derived from the events and may be dropped and rebuilt (docs/read-models.md).
These tables are derived from nothing, and the law asks for some of them:

- ``access_log``: who read which case, when and why (GDPR art. 15 and 32), append-only;
- ``noark_numbers``: the archive's case and journal numbers, each assigned once;
- ``print_queue``: letters to post, and (in ``projection_position``) how far the notices policy
  has read the event store's log;
- ``http_idempotency``: the API's answers to ``Idempotency-Key``s;
- ``token_revocations``: tokens refused before they expire.

They live in the event store's database — the SQLite file, or the PostgreSQL schema — with their
own numbered migrations (``records_schema``). A store whose read-model database held them (the
versions before this one) has them moved on first open: the rows copied in one transaction, then
the tables dropped from the read-model database. Stop every process of the older version first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from psycopg_pool import ConnectionPool

from projections.database import Database, postgres_options
from projections.tables import (
    ACCESS_LOG,
    HTTP_IDEMPOTENCY,
    NOARK_NUMBERS,
    PRINT_QUEUE,
    PROJECTION_POSITION,
    TOKEN_REVOCATIONS,
    Table,
    create_table_sql,
    migration_4,
    migration_5,
)
from saksflyt.bootstrap import projection_database, projection_store
from saksflyt.settings import Settings

NOTICES_POSITION = "notices"  # the notices policy's row in projection_position
MOVED = (ACCESS_LOG, NOARK_NUMBERS, PRINT_QUEUE, HTTP_IDEMPOTENCY)


def _records_1(db: Database) -> list[str]:
    """Version 1: every record table, unless the database has it already (a PostgreSQL schema
    that holds the read models too held them all along)."""
    dialect, statements = db.dialect, []
    creations: list[tuple[Table, Callable[[str], list[str]]]] = [
        (ACCESS_LOG, migration_4),  # with the triggers that refuse UPDATE and DELETE
        (NOARK_NUMBERS, migration_5),  # with its unique numbers
        (PRINT_QUEUE, _plain(PRINT_QUEUE)),
        (HTTP_IDEMPOTENCY, _plain(HTTP_IDEMPOTENCY)),
        (TOKEN_REVOCATIONS, _plain(TOKEN_REVOCATIONS)),
        (PROJECTION_POSITION, _plain(PROJECTION_POSITION)),
    ]
    for table, create in creations:
        if not has_table(db, table.name):
            statements += create(dialect)
    return statements


def _plain(table: Table) -> Callable[[str], list[str]]:
    return lambda dialect: [create_table_sql(table, dialect)]


MIGRATIONS = (_records_1,)  # append; never edit one that has shipped


def has_table(db: Database, name: str) -> bool:
    if db.dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = (
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ?"
        )
    return bool(db.rows(sql, (name,)))


def open_records(settings: Settings, durable: bool = True) -> Database:
    """A connection to the records, in the event store's database (autocommit)."""
    if settings.event_store == "postgres":
        assert settings.postgres_url is not None
        return Database.postgres(
            settings.postgres_url, settings.postgres_schema, autocommit=True, durable=durable
        )
    return Database.sqlite(settings.sqlite_path, durable)


class RecordsPool:
    """The records on connections a process keeps open for its requests: a pool on PostgreSQL
    (``SAKSFLYT_RECORDS_POOL_SIZE``), one connection per thread on SQLite. A request borrows one
    for a statement or a transaction instead of connecting each time."""

    def __init__(self, settings: Settings, durable: bool = True) -> None:
        """``durable=False``: commits do not wait for the disk (``Database.sqlite``) — only for
        rows whose last few a crash may lose without harm."""
        prepared(settings)  # migrated (and moved) before the first borrow
        self._pool: ConnectionPool | None = None
        self._db: Database | None = None
        if settings.event_store == "postgres":
            assert settings.postgres_url is not None
            self._pool = ConnectionPool(
                settings.postgres_url,
                kwargs=postgres_options(settings.postgres_schema, durable=durable),
                min_size=1,
                max_size=settings.records_pool_size,
                name="saksflyt-records",
                open=True,
            )
        else:
            self._db = open_records(settings, durable)

    @contextmanager
    def connection(self) -> Iterator[Database]:
        if self._pool is None:
            assert self._db is not None
            yield self._db
            return
        with self._pool.connection() as conn:  # a broken one is discarded, not given back
            yield Database("postgres", conn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._db is not None:
            self._db.close()


_ready: set[tuple[str, ...]] = set()
_ready_lock = threading.Lock()


def records_database(settings: Settings) -> Database:
    """The records' database, migrated (and moved out of the read models) on first use here."""
    prepared(settings)
    return open_records(settings)


def prepared(settings: Settings) -> None:
    """Migrate the records (and move them) once per process and store."""
    where = _location(settings)
    with _ready_lock:
        if where not in _ready:
            prepare(settings)
            _ready.add(where)


def prepare(settings: Settings) -> int:
    """Migrate the records and move any left in the read-model database; the schema version."""
    shared = _shares_read_models(settings)
    if shared:  # their migrations first: they made some of these tables
        projection_store(settings).db.close()
    db = open_records(settings)
    try:
        with db.transaction():
            db.lock("saksflyt-records-migrations")
            db.execute("CREATE TABLE IF NOT EXISTS records_schema (version INTEGER NOT NULL)")
            current = db.rows("SELECT MAX(version) AS version FROM records_schema")[0]["version"]
            for version, migration in enumerate(
                MIGRATIONS[current or 0 :], start=(current or 0) + 1
            ):
                for statement in migration(db):
                    db.execute(statement)
                db.execute("INSERT INTO records_schema (version) VALUES (?)", (version,))
        if not shared:
            _move_from_read_models(settings, db)
    finally:
        db.close()
    return len(MIGRATIONS)


def _location(settings: Settings) -> tuple[str, ...]:
    if settings.event_store == "postgres":
        return ("postgres", str(settings.postgres_url), str(settings.postgres_schema))
    return ("sqlite", str(settings.sqlite_path.resolve()))


def _shares_read_models(settings: Settings) -> bool:
    """Whether the read models live in the same database as the records."""
    reads = settings.projection_store or settings.event_store
    if reads != settings.event_store:
        return False
    if reads == "postgres":
        return True  # one URL and schema serve both
    return settings.projection_sqlite_path.resolve() == settings.sqlite_path.resolve()


def _move_from_read_models(settings: Settings, records: Database) -> None:
    reads_kind = settings.projection_store or settings.event_store
    if reads_kind == "sqlite" and not settings.projection_sqlite_path.exists():
        return
    reads = projection_database(settings)
    try:
        for table in MOVED:
            if has_table(reads, table.name):
                _move(table, reads, records)
        if has_table(reads, "projection_position"):
            _move_notices_position(reads, records)
    finally:
        reads.close()


def _move(table: Table, reads: Database, records: Database) -> None:
    """Copy the table's rows into the records (unless they are there already: a move that
    stopped between the copy and the drop), then drop it from the read models."""
    rows = reads.rows(f"SELECT * FROM {table.name}", table=table.name)
    with records.transaction():
        records.lock("saksflyt-records-migrations")
        if rows and not records.rows(f"SELECT 1 FROM {table.name} LIMIT 1"):
            names = [name for name, _ in table.columns]
            marks = ", ".join("?" for _ in names)
            records.executemany(
                f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",
                [[row[n] for n in names] for row in rows],
            )
    with reads.transaction():
        reads.execute(f"DROP TABLE {table.name}")
        if table is ACCESS_LOG and reads.dialect == "postgres":
            reads.execute("DROP FUNCTION IF EXISTS access_log_append_only()")


def _move_notices_position(reads: Database, records: Database) -> None:
    sql = "SELECT position FROM projection_position WHERE source = ?"
    kept = reads.rows(sql, (NOTICES_POSITION,))
    if not kept:
        return
    with records.transaction():
        if not records.rows(sql, (NOTICES_POSITION,)):
            records.execute(
                "INSERT INTO projection_position (source, position) VALUES (?, ?)",
                (NOTICES_POSITION, kept[0]["position"]),
            )
    with reads.transaction():
        reads.execute("DELETE FROM projection_position WHERE source = ?", (NOTICES_POSITION,))
