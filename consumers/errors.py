"""Which failures are worth retrying (the world will heal) and which are the message's fault."""

from __future__ import annotations

import sqlite3

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from kafka.errors import KafkaError

from domain.errors import ConcurrentUpdate

TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OperationalError,  # the event store's database is unreachable, locked or restarting
    InterfaceError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
    ConcurrentUpdate,  # someone saved the case first: reload and try again
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False))
    return isinstance(error, TRANSIENT)
