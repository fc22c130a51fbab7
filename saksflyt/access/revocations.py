"""Revoked tokens: a caller's tokens refused before they expire.

``saksflyt revoke --subject S`` refuses every token of ``S`` issued up to the second of the
revocation (a lost laptop, a person who left, a form portal whose secret leaked), from every
issuer; ``--token-id J`` refuses one token by its ``jti``. A token issued after a subject's
revocation is taken again (the identity provider decides whether to issue one). An entry is kept
only as long as a token issued before it may live (the longest lifetime any issuer allows), then
pruned. Each API process reads the list at most every ``SAKSFLYT_AUTH_REVOCATION_REFRESH_SECONDS``
(5): a revocation takes hold within that, without a database read per request.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from projections.database import Database

SUBJECT, TOKEN = "subject", "token"
log = logging.getLogger(__name__)


class Revocations:
    def __init__(
        self, open_db: Callable[[], Database], longest_token: timedelta, refresh_s: float
    ) -> None:
        self.open_db, self.longest_token, self.refresh_s = open_db, longest_token, refresh_s
        self._known: dict[tuple[str, str], datetime] = {}
        self._read_at = -float("inf")
        self._lock = threading.Lock()

    def revoke(self, kind: str, value: str, reason: str) -> datetime:
        """Record a revocation (again: from now); returns when it holds from."""
        now = datetime.now(UTC)
        db = self.open_db()
        try:
            with db.transaction():
                db.execute(
                    "DELETE FROM token_revocations WHERE (kind = ? AND value = ?) OR until < ?",
                    (kind, value, now),
                )
                db.execute(
                    "INSERT INTO token_revocations (kind, value, revoked_at, until, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (kind, value, now, now + self.longest_token, reason),
                )
        finally:
            db.close()
        self._read_at = -float("inf")  # this process sees it at once
        return now

    def refused(self, subject: str, token_id: str | None, issued_at: float) -> bool:
        """Whether a token of ``subject`` issued at ``issued_at`` (``iat``), with ``jti``
        ``token_id``, was revoked."""
        known = self._current()
        revoked = known.get((SUBJECT, subject))
        if revoked is not None and issued_at <= revoked.timestamp():
            return True
        return token_id is not None and (TOKEN, token_id) in known

    def _current(self) -> dict[tuple[str, str], datetime]:
        """The revocations in force, read again when older than the refresh interval. A
        database that cannot be read keeps the list last read (the request itself will meet
        the database, and say so) and is tried again after the interval."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.refresh_s:
                self._read_at = time.monotonic()
                try:
                    self._known = self._read()
                except (sqlite3.Error, psycopg.Error) as error:
                    log.warning("revoked tokens not read", extra={"why": str(error)})
            return self._known

    def _read(self) -> dict[tuple[str, str], datetime]:
        db = self.open_db()
        try:
            rows = db.rows(
                "SELECT kind, value, revoked_at FROM token_revocations WHERE until >= ?",
                (datetime.now(UTC),),
                table="token_revocations",
            )
        finally:
            db.close()
        return {(r["kind"], r["value"]): r["revoked_at"] for r in rows}
