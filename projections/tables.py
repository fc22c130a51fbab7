"""The read-model tables, their column types, and the explicit migrations that create them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, kind): text, int, real, bool, date, timestamp
    key: tuple[str, ...]

    @property
    def kinds(self) -> dict[str, str]:
        return dict(self.columns)


CASE_OVERVIEW = Table(
    "case_overview",
    (
        ("case_id", "text"),
        ("version", "int"),
        ("service", "text"),
        ("kommunenummer", "text"),
        ("status", "text"),
        ("applicant_ref", "text"),
        ("created_at", "timestamp"),
        ("submitted_at", "timestamp"),
        ("decided_at", "timestamp"),
        ("closed_at", "timestamp"),
        ("outcome", "text"),
        ("decision_days", "int"),
        ("objection_decision_days", "int"),
        ("paused_days", "int"),
        ("paused_since", "date"),
        ("decision_deadline", "date"),
        ("decided_past_deadline", "bool"),
        ("preliminary_reply_due", "date"),
        ("preliminary_reply_sent", "bool"),
        ("appeal_deadline", "date"),
        ("neighbours_notified", "int"),
        ("neighbour_deadline", "date"),
        ("neighbour_consents", "int"),
        ("neighbour_objections", "int"),
        ("neighbour_comments", "int"),
        ("last_event_at", "timestamp"),
        *(
            APPEAL_COLUMNS := (
                ("appeal_status", "text"),  # received | forwarded | reversed | upheld | repealed
                ("appeal_received_on", "date"),
                ("appeal_review_due", "date"),  # the deciding body's review (fvl § 33)
            )
        ),
        *(
            DEEMED_COLUMNS := (
                # pbl § 21-7 tredje ledd: the day an undecided building case is granted by law
                # (while undecided and it may be), or was (PermitDeemedGranted)
                ("deemed_granted_on", "date"),
            )
        ),
        *(
            CONSULTATION_COLUMNS := (
                ("consultations_pending", "int"),  # asked and not yet answered (alkoholloven § 1-7)
                ("consultation_due", "date"),  # the latest answer-by date while any are pending
            )
        ),
        *(
            SURVEY_COLUMNS := (
                ("survey_due", "date"),  # kartforretning: the survey after the permit
                ("surveyed_on", "date"),
            )
        ),
        *(
            CONTACT_COLUMNS := (
                ("contact_status", "text"),  # «kontakt meg»: requested | taken-up
            )
        ),
    ),
    ("case_id",),
)

SERVICE_STATS = Table(
    "service_stats",
    (
        ("day", "date"),
        ("service", "text"),
        ("kommunenummer", "text"),
        ("submitted", "int"),
        ("decided_granted", "int"),
        ("decided_partly_granted", "int"),
        ("decided_refused", "int"),
        ("decided_past_deadline", "int"),
        ("withdrawn", "int"),
        ("archived", "int"),
        ("shredded", "int"),
    ),
    ("day", "service", "kommunenummer"),
)

DECISION_TIMES = Table(
    "decision_times",
    (
        ("case_id", "text"),
        ("day", "date"),
        ("service", "text"),
        ("kommunenummer", "text"),
        ("days", "real"),
    ),
    ("case_id",),
)

DEADLINE_WATCH = Table(
    "deadline_watch",
    (
        ("case_id", "text"),
        ("kind", "text"),
        ("due", "date"),
        ("service", "text"),
        ("kommunenummer", "text"),
        ("status", "text"),
    ),
    ("case_id", "kind"),
)

NEIGHBOUR_NOTICES = Table(
    "neighbour_notices",
    (
        ("case_id", "text"),
        ("service", "text"),
        ("kommunenummer", "text"),
        ("status", "text"),
        ("comment_deadline", "date"),
        ("neighbours", "int"),
        ("consents", "int"),
        ("objections", "int"),
        ("comments", "int"),
    ),
    ("case_id",),
)

PROJECTION_STATUS = Table(
    "projection_status",
    (
        ("name", "text"),
        ("events_applied", "int"),
        ("duplicates_dropped", "int"),
        ("last_event_at", "timestamp"),
        ("last_applied_at", "timestamp"),
    ),
    ("name",),
)

PROJECTION_POSITION = Table(
    "projection_position", (("source", "text"), ("position", "int")), ("source",)
)

HTTP_IDEMPOTENCY = Table(
    "http_idempotency",
    (
        ("key", "text"),
        ("fingerprint", "text"),
        ("owner", "text"),
        ("status", "int"),
        ("body", "text"),
        ("created_at", "timestamp"),
    ),
    ("key",),
)

PROJECTION_DEAD_LETTERS = Table(
    "projection_dead_letters",
    (
        ("event_id", "text"),
        ("case_id", "text"),
        ("case_version", "int"),
        ("event", "text"),
        ("reason", "text"),
        ("quarantined_at", "timestamp"),
    ),
    ("event_id",),
)

ACCESS_LOG = Table(
    "access_log",
    (
        ("seq", "int"),
        ("at", "timestamp"),
        ("subject", "text"),
        ("roles", "text"),
        ("case_id", "text"),
        ("service", "text"),
        ("kommunenummer", "text"),
        ("action", "text"),
        ("purpose", "text"),
        ("hash", "text"),
    ),
    ("seq",),
)

NOARK_NUMBERS = Table(
    "noark_numbers",
    (
        ("kind", "text"),
        ("key", "text"),
        ("kommunenummer", "text"),
        ("year", "int"),
        ("number", "int"),
    ),
    ("kind", "key"),
)

PRINT_QUEUE = Table(
    "print_queue",  # letters to post to people without e-mail: no personal data, only pointers
    (
        ("message_id", "text"),
        ("case_id", "text"),
        ("event_version", "int"),
        ("kind", "text"),
        ("party", "int"),  # a nabovarsel's party, by its place in the notice; -1: the applicant
        ("kommunenummer", "text"),
        ("queued_at", "timestamp"),
        ("printed_at", "timestamp"),
    ),
    ("message_id",),
)

TOKEN_REVOCATIONS = Table(
    "token_revocations",  # saksflyt revoke: a subject's tokens, or one token (its jti)
    (
        ("kind", "text"),  # subject | token
        ("value", "text"),
        ("revoked_at", "timestamp"),
        ("until", "timestamp"),  # no token issued before it lives past this: then pruned
        ("reason", "text"),
    ),
    ("kind", "value"),
)

READ_MODELS = (CASE_OVERVIEW, SERVICE_STATS, DECISION_TIMES, DEADLINE_WATCH, NEIGHBOUR_NOTICES)
ALL_TABLES = (*READ_MODELS, PROJECTION_STATUS)
TABLES_BY_NAME = (
    *ALL_TABLES,
    PROJECTION_POSITION,
    HTTP_IDEMPOTENCY,
    PROJECTION_DEAD_LETTERS,
    ACCESS_LOG,
    NOARK_NUMBERS,
    PRINT_QUEUE,
    TOKEN_REVOCATIONS,
)
TABLES = {t.name: t for t in TABLES_BY_NAME}
INDEXES = (
    ("case_overview", ("service", "kommunenummer", "status")),
    ("deadline_watch", ("due",)),
    ("service_stats", ("service", "kommunenummer")),
)

SQL_TYPES = {
    "postgres": {
        "text": "TEXT",
        "int": "BIGINT",
        "real": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMPTZ",
    },
    "sqlite": {
        "text": "TEXT",
        "int": "INTEGER",
        "real": "REAL",
        "bool": "INTEGER",
        "date": "TEXT",
        "timestamp": "TEXT",
    },
}


def create_table_sql(table: Table, dialect: str, name: str | None = None) -> str:
    types = SQL_TYPES[dialect]
    columns = ", ".join(f"{column} {types[kind]}" for column, kind in table.columns)
    return f"CREATE TABLE {name or table.name} ({columns}, PRIMARY KEY ({', '.join(table.key)}))"


def create_index_sql(table_name: str, columns: tuple[str, ...]) -> str:
    return (
        f"CREATE INDEX {table_name}_{'_'.join(columns)}_idx ON {table_name} ({', '.join(columns)})"
    )


# added by migrations 7 to 11
LATER_COLUMNS = (
    *APPEAL_COLUMNS,
    *DEEMED_COLUMNS,
    *CONSULTATION_COLUMNS,
    *SURVEY_COLUMNS,
    *CONTACT_COLUMNS,
)


def migration_1(dialect: str) -> list[str]:
    """Version 1: the four read models, decision times for medians, and projection status (the
    case overview with the columns it had then; later versions add theirs)."""
    first = Table(
        CASE_OVERVIEW.name,
        tuple(c for c in CASE_OVERVIEW.columns if c not in LATER_COLUMNS),
        CASE_OVERVIEW.key,
    )
    tables = [first if t is CASE_OVERVIEW else t for t in ALL_TABLES]
    return [create_table_sql(t, dialect) for t in tables] + [
        create_index_sql(t, c) for t, c in INDEXES
    ]


def migration_2(dialect: str) -> list[str]:
    """Version 2: how far in-process delivery has read the event store, kept with the rows."""
    return [create_table_sql(PROJECTION_POSITION, dialect)]


def migration_3(dialect: str) -> list[str]:
    """Version 3: the API's idempotency keys, and events a projection could not apply."""
    return [create_table_sql(t, dialect) for t in (HTTP_IDEMPOTENCY, PROJECTION_DEAD_LETTERS)]


def migration_4(dialect: str) -> list[str]:
    """Version 4: the read-access log, append-only: updates and deletes are refused."""
    refusal = "access_log is append-only"
    if dialect == "sqlite":
        return [
            create_table_sql(ACCESS_LOG, dialect),
            *(
                f"CREATE TRIGGER access_log_no_{verb.lower()} BEFORE {verb} ON access_log "
                f"BEGIN SELECT RAISE(ABORT, '{refusal}'); END"
                for verb in ("UPDATE", "DELETE")
            ),
            create_index_sql("access_log", ("case_id",)),
        ]
    return [
        create_table_sql(ACCESS_LOG, dialect),
        "CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{refusal}'; END $$",
        "CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log "
        "FOR EACH ROW EXECUTE FUNCTION access_log_append_only()",
        "CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()",
        create_index_sql("access_log", ("case_id",)),
    ]


def migration_5(dialect: str) -> list[str]:
    """Version 5: the archive's case and journal numbers, each assigned once."""
    return [
        create_table_sql(NOARK_NUMBERS, dialect),
        "CREATE UNIQUE INDEX noark_numbers_unique ON noark_numbers (kind, kommunenummer, year, number)",
    ]


def migration_6(dialect: str) -> list[str]:
    """Version 6: the print queue of the notices policy."""
    return [create_table_sql(PRINT_QUEUE, dialect)]


def _add_columns(dialect: str, columns: tuple[tuple[str, str], ...]) -> list[str]:
    """New columns of the case overview (its rows fill them as events arrive)."""
    types = SQL_TYPES[dialect]
    return [
        f"ALTER TABLE case_overview ADD COLUMN {column} {types[kind]}" for column, kind in columns
    ]


def migration_7(dialect: str) -> list[str]:
    """Version 7: the appeal (klage) of each case in the overview."""
    return _add_columns(dialect, APPEAL_COLUMNS)


def migration_8(dialect: str) -> list[str]:
    """Version 8: when a building case is (or was) granted by law on an overrun (pbl § 21-7)."""
    return _add_columns(dialect, DEEMED_COLUMNS)


def migration_9(dialect: str) -> list[str]:
    """Version 9: the consultations a case waits for (skjenkebevilling, alkoholloven § 1-7)."""
    return _add_columns(dialect, CONSULTATION_COLUMNS)


def migration_10(dialect: str) -> list[str]:
    """Version 10: the survey a kartforretning's permit calls for (matrikkelforskriften § 18)."""
    return _add_columns(dialect, SURVEY_COLUMNS)


def migration_11(dialect: str) -> list[str]:
    """Version 11: «kontakt meg» requests, for caseworkers to take up."""
    return _add_columns(dialect, CONTACT_COLUMNS)


MIGRATIONS = (
    migration_1,
    migration_2,
    migration_3,
    migration_4,
    migration_5,
    migration_6,
    migration_7,
    migration_8,
    migration_9,
    migration_10,
    migration_11,
)  # append; never edit a migration that has shipped
