"""Idempotency keys bound to the request they came with.

The first request with a key claims it (a row in ``http_idempotency``, among the records beside
the event store: ``saksflyt.records``) and its answer — success or problem — is kept. A resend
of the same request (same route, case and body) gets that answer; one sent while the first is
still running is answered ``409 request-in-progress`` at once, with ``Retry-After`` (as the IETF
draft on the Idempotency-Key header asks), not held in a request thread. The same key with
another request is refused (422): it would otherwise be dropped silently as a duplicate. Works
across worker processes: the claim is a row, not a lock in memory. A claim whose request died
without an answer is taken over after ``stale_s``. A claim is one statement (one round trip) on
a connection borrowed from the records' pool.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
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


# one statement: a new key is claimed; a claim whose request died unanswered is taken over;
# otherwise the row is returned as it is (the no-op update makes RETURNING give it back)
_CLAIM = """
INSERT INTO http_idempotency AS h (key, fingerprint, owner, status, body, created_at)
VALUES (?, ?, ?, NULL, NULL, ?)
ON CONFLICT (key) DO UPDATE SET
    owner = CASE WHEN {stale} THEN excluded.owner ELSE h.owner END,
    created_at = CASE WHEN {stale} THEN excluded.created_at ELSE h.created_at END
RETURNING fingerprint, owner, status, body
""".format(stale="h.status IS NULL AND h.fingerprint = excluded.fingerprint AND h.created_at < ?")


class IdempotencyKeys:
    def __init__(
        self,
        connection: Callable[[], AbstractContextManager[Database]],
        stale_s: float = 120.0,
        retry_after_s: int = 1,
    ) -> None:
        self.connection, self.stale_s, self.retry_after_s = connection, stale_s, retry_after_s

    def claim(self, key: UUID, print_: str) -> Answer | None:
        """None: ours to run. An ``Answer``: the same request ran before; this is what it said."""
        owner, now = uuid4().hex, datetime.now(UTC)
        stale_before = now - timedelta(seconds=self.stale_s)
        with self.connection() as db:
            claimed = (str(key), print_, owner, now, stale_before, stale_before)
            row = db.rows(_CLAIM, claimed)[0]
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
        raise ApiProblem(
            409,
            "request-in-progress",
            "the first request with this Idempotency-Key is still running; send it again later",
            {"Retry-After": str(self.retry_after_s)},
        )

    def answer(self, key: UUID, status: int, body: str) -> None:
        with self.connection() as db:
            db.execute(
                "UPDATE http_idempotency SET status = ?, body = ? WHERE key = ?",
                (status, body, str(key)),
            )

    def release(self, key: UUID) -> None:
        """The request failed unexpectedly: let a resend try again."""
        with self.connection() as db:
            db.execute("DELETE FROM http_idempotency WHERE key = ? AND status IS NULL", (str(key),))
