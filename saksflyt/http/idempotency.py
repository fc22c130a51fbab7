"""Idempotency keys bound to the request they came with.

The first request with a key claims it (a row in ``http_idempotency``, among the records beside
the event store: ``saksflyt.records``) and its answer — success or problem — is kept. A resend
of the same request (same route, case and body) gets that answer; one sent while the first is
still running waits for it. The same key with
another request is refused (422): it would otherwise be dropped silently as a duplicate. Works
across worker processes: the claim is a row, not a lock in memory. A claim whose request died
without an answer is taken over after ``stale_s``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from projections.database import Database
from saksflyt.http.problems import ApiProblem


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # JSON


def fingerprint(route: str, case_id: UUID, body: Any) -> str:
    """What makes two requests the same: route, case and body (canonical JSON)."""
    canonical = json.dumps([route, str(case_id), body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class IdempotencyKeys:
    def __init__(
        self, open_db: Callable[[], Database], wait_s: float = 30.0, stale_s: float = 120.0
    ) -> None:
        self.open_db, self.wait_s, self.stale_s = open_db, wait_s, stale_s

    def claim(self, key: UUID, print_: str) -> Answer | None:
        """None: ours to run. An ``Answer``: the same request ran before; this is what it said."""
        owner = uuid4().hex
        deadline = time.monotonic() + self.wait_s
        db = self.open_db()
        try:
            while True:
                row = self._claim_once(db, key, print_, owner)
                if row["fingerprint"] != print_:
                    raise ApiProblem(
                        422,
                        "idempotency-key-reused",
                        "this Idempotency-Key was used with a different request",
                    )
                if row["owner"] == owner:
                    return None
                if row["status"] is not None:
                    return Answer(int(row["status"]), str(row["body"]))
                if time.monotonic() > deadline:
                    raise ApiProblem(
                        409, "request-in-progress", "the first request is still running"
                    )
                time.sleep(0.02)
        finally:
            db.close()

    def _claim_once(self, db: Database, key: UUID, print_: str, owner: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        with db.transaction():
            db.execute(
                "INSERT INTO http_idempotency (key, fingerprint, owner, status, body, created_at)"
                " VALUES (?, ?, ?, NULL, NULL, ?) ON CONFLICT (key) DO NOTHING",
                (str(key), print_, owner, now),
            )
            db.execute(  # a claim whose request died unanswered
                "UPDATE http_idempotency SET owner = ?, created_at = ? WHERE key = ?"
                " AND status IS NULL AND fingerprint = ? AND created_at < ?",
                (owner, now, str(key), print_, now - timedelta(seconds=self.stale_s)),
            )
            return db.rows(
                "SELECT * FROM http_idempotency WHERE key = ?",
                (str(key),),
                table="http_idempotency",
            )[0]

    def answer(self, key: UUID, status: int, body: str) -> None:
        db = self.open_db()
        try:
            with db.transaction():
                db.execute(
                    "UPDATE http_idempotency SET status = ?, body = ? WHERE key = ?",
                    (status, body, str(key)),
                )
        finally:
            db.close()

    def release(self, key: UUID) -> None:
        """The request failed unexpectedly: let a resend try again."""
        db = self.open_db()
        try:
            with db.transaction():
                db.execute(
                    "DELETE FROM http_idempotency WHERE key = ? AND status IS NULL", (str(key),)
                )
        finally:
            db.close()
