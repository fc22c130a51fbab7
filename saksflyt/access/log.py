"""The read-access log: who read which case, when, and why — append-only, hash-chained.

Every read of a whole case or of personal data appends one row before the answer leaves
(a read that cannot be logged is not served). Each row's ``hash`` is SHA-256 over the previous
row's hash and this row's canonical content, so a changed, removed or reordered row breaks the
chain from there on; the table also refuses UPDATE and DELETE (triggers). It answers GDPR art. 15
("who has read my case?") by case id, and an audit by subject or time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from projections.database import Database

GENESIS = "0" * 64
COLUMNS = (
    "seq",
    "at",
    "subject",
    "roles",
    "case_id",
    "service",
    "kommunenummer",
    "action",
    "purpose",
)


@dataclass(frozen=True)
class Access:
    """One read: by whom (token subject and roles), of what, and the purpose stated."""

    subject: str
    roles: str
    case_id: UUID
    service: str
    kommunenummer: str
    action: str  # case | history | history+personal
    purpose: str


@dataclass(frozen=True)
class LogBreak:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"access log row {self.seq}: {self.reason}"


def row_hash(previous: str, row: dict[str, Any]) -> str:
    content = {k: row[k] for k in COLUMNS}
    content["at"] = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


class AccessLog:
    def __init__(
        self,
        connection: Callable[[], AbstractContextManager[Database]],
        clock: Callable[[], datetime],
    ) -> None:
        self.connection, self.clock = connection, clock

    def record(self, access: Access) -> int:
        """Append one read; returns its sequence number. Appends queue for the chain's head."""
        with self.connection() as db:
            with db.transaction():
                db.lock("saksflyt-access-log")
                last = db.rows("SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1")
                seq = int(last[0]["seq"]) + 1 if last else 1
                row = {
                    "seq": seq,
                    "at": self.clock(),
                    **vars(access),
                    "case_id": str(access.case_id),
                }
                row["hash"] = row_hash(last[0]["hash"] if last else GENESIS, row)
                names = (*COLUMNS, "hash")
                db.execute(
                    f"INSERT INTO access_log ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})",
                    [row[n] for n in names],
                )
            return seq


def entries(
    db: Database,
    case_id: UUID | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    kommuner: tuple[str, ...] | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Rows matching every filter given, oldest first."""
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    for column, value in (("case_id", case_id and str(case_id)), ("subject", subject)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("at >= ?")
        params.append(since)
    if kommuner is not None:
        clauses.append(f"kommunenummer IN ({', '.join('?' for _ in kommuner) or 'NULL'})")
        params.extend(kommuner)
    return db.rows(
        f"SELECT * FROM access_log WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ? OFFSET ?",
        (*params, limit, offset),
        table="access_log",
    )


def verify(db: Database, page: int = 5000) -> tuple[int, list[LogBreak]]:
    """Recompute the chain over every row: (rows checked, breaks found)."""
    previous, expected_seq, checked, breaks = GENESIS, 1, 0, []
    for row in _all_rows(db, page):
        if row["seq"] != expected_seq:
            breaks.append(LogBreak(row["seq"], f"follows row {expected_seq - 1}"))
        if row_hash(previous, row) != row["hash"]:
            breaks.append(LogBreak(row["seq"], "content does not match its hash"))
        previous, expected_seq, checked = row["hash"], row["seq"] + 1, checked + 1
    return checked, breaks


def _all_rows(db: Database, page: int) -> Iterator[dict[str, Any]]:
    after = 0
    while rows := db.rows(
        "SELECT * FROM access_log WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, page),
        table="access_log",
    ):
        yield from rows
        after = rows[-1]["seq"]
