"""Analyst and officer queries over the read models, with filters and pagination."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from domain.lifecycle import AWAITING_DECISION, UNDECIDED
from projections.database import Database

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Scope:
    """Which rows a caller may see: their municipalities and (if limited) services.
    ``None`` is no limit — for the process itself (metrics), never for a caller's token."""

    kommuner: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None

    def clauses(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, allowed in (("kommunenummer", self.kommuner), ("service", self.services)):
            if allowed is not None:
                clauses.append(f"{column} IN ({', '.join('?' for _ in allowed) or 'NULL'})")
                params.extend(allowed)
        return clauses, params

    def covers(self, service: str, kommunenummer: str) -> bool:
        """A case of this service and municipality is within the scope."""
        return (self.kommuner is None or kommunenummer in self.kommuner) and (
            self.services is None or service in self.services
        )


EVERYTHING = Scope()


@dataclass(frozen=True)
class Filters:
    service: str | None = None
    municipality: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 100
    offset: int = 0
    scope: Scope = EVERYTHING

    def where(self, date_column: str | None) -> tuple[str, list[Any]]:
        scoped, params = self.scope.clauses()
        clauses = ["1 = 1", *scoped]
        for column, value in (
            ("service", self.service),
            ("kommunenummer", self.municipality),
            ("status", self.status),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if date_column and self.date_from:
            clauses.append(f"{date_column} >= ?")
            params.append(self.date_from)
        if date_column and self.date_to:
            clauses.append(f"{date_column} <= ?")
            params.append(self.date_to)
        return " AND ".join(clauses), params

    @property
    def page(self) -> tuple[int, int]:
        return min(max(self.limit, 1), MAX_LIMIT), max(self.offset, 0)


def _page(
    db: Database, table: str, filters: Filters, date_column: str | None, order: str
) -> list[dict[str, Any]]:
    where, params = filters.where(date_column)
    limit, offset = filters.page
    return db.rows(
        f"SELECT * FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        (*params, limit, offset),
        table=table,
    )


PAGED = {  # view -> (table, date column) of the paged read models
    "overview": ("case_overview", "created_at"),
    "deadlines": ("deadline_watch", "due"),
    "neighbours": ("neighbour_notices", "comment_deadline"),
    "stats": ("service_stats", "day"),  # per day: one row per service_stats row
}


def count(db: Database, view: str, filters: Filters) -> int:
    """How many rows the view has under ``filters`` (all pages)."""
    table, date_column = PAGED[view]
    if view == "stats":
        filters = replace(filters, status=None)  # no status in the stats, as stats() reads them
    where, params = filters.where(date_column)
    return int(db.rows(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", params)[0]["n"])


def overview(db: Database, filters: Filters) -> list[dict[str, Any]]:
    return _page(db, "case_overview", filters, "created_at", "created_at, case_id")


def deadlines(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """Open work by nearest deadline: overdue first."""
    return _page(db, "deadline_watch", filters, "due", "due, case_id, kind")


def neighbours(db: Database, filters: Filters) -> list[dict[str, Any]]:
    return _page(db, "neighbour_notices", filters, "comment_deadline", "comment_deadline, case_id")


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def stats(db: Database, filters: Filters, group_by_day: bool = True) -> list[dict[str, Any]]:
    """Counts per day × service × municipality, with median and p90 days to decision."""
    where, params = Filters(
        filters.service,
        filters.municipality,
        None,
        filters.date_from,
        filters.date_to,
        scope=filters.scope,
    ).where("day")
    rows = db.rows(
        f"SELECT * FROM service_stats WHERE {where} ORDER BY day, service, kommunenummer",
        params,
        table="service_stats",
    )
    times: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for t in db.rows(
        f"SELECT day, service, kommunenummer, days FROM decision_times WHERE {where}",
        params,
        table="decision_times",
    ):
        times[(t["day"], t["service"], t["kommunenummer"])].append(t["days"])
    if not group_by_day:
        return _totals(rows, times)
    for row in rows:
        values = sorted(times[(row["day"], row["service"], row["kommunenummer"])])
        row["median_days_to_decision"] = _percentile(values, 50)
        row["p90_days_to_decision"] = _percentile(values, 90)
    limit, offset = filters.page
    return rows[offset : offset + limit]


def _totals(
    rows: list[dict[str, Any]], times: dict[tuple[Any, ...], list[float]]
) -> list[dict[str, Any]]:
    """The same figures summed over days, per service × municipality."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["service"], row["kommunenummer"])
        total = totals.setdefault(key, {"service": key[0], "kommunenummer": key[1]})
        for column, value in row.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total[column] = total.get(column, 0) + value
    for key, total in totals.items():
        values = sorted(v for (_, s, k), vs in times.items() if (s, k) == key for v in vs)
        total["median_days_to_decision"] = _percentile(values, 50)
        total["p90_days_to_decision"] = _percentile(values, 90)
    return list(totals.values())


def status(db: Database) -> dict[str, Any] | None:
    rows = db.rows(
        "SELECT * FROM projection_status WHERE name = 'caseflow'", table="projection_status"
    )
    return rows[0] if rows else None


AWAITING = tuple(s.value for s in AWAITING_DECISION)
UNDECIDED_VALUES = tuple(s.value for s in UNDECIDED)


def backlog(db: Database, scope: Scope = EVERYTHING) -> dict[str, int]:
    """Open cases per service."""
    per_service: Counter[str] = Counter()
    for (service, _), count in open_cases(db, scope).items():
        per_service[service] += count
    return dict(sorted(per_service.items()))


def open_cases(db: Database, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
    """Cases waiting for a decision, per service and municipality."""
    marks = ", ".join("?" for _ in AWAITING)
    scoped, params = scope.clauses()
    rows = db.rows(
        "SELECT service, kommunenummer, COUNT(*) AS n FROM case_overview "
        f"WHERE {' AND '.join([f'status IN ({marks})', *scoped])} GROUP BY service, kommunenummer",
        (*AWAITING, *params),
    )
    return {(r["service"], r["kommunenummer"]): int(r["n"]) for r in rows}


def decisions_by_week(db: Database, filters: Filters) -> list[tuple[date, float, int]]:
    """Per ISO week of the decision (Monday first): median days to decision and how many."""
    by_week: dict[date, list[float]] = defaultdict(list)
    where, params = filters.where("day")
    for row in db.rows(
        f"SELECT day, days FROM decision_times WHERE {where}", params, table="decision_times"
    ):
        monday = row["day"].fromordinal(row["day"].toordinal() - row["day"].weekday())
        by_week[monday].append(row["days"])
    return [(week, statistics.median(v), len(v)) for week, v in sorted(by_week.items())]


def open_neighbour_periods(
    db: Database, today: date, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """Comment periods still running on ``today`` for undecided cases."""
    where, params = Filters(scope=scope).where(None)
    return db.rows(
        f"SELECT * FROM neighbour_notices WHERE {where} AND comment_deadline >= ? AND status IN "
        f"({', '.join('?' for _ in UNDECIDED_VALUES)}) ORDER BY comment_deadline, case_id",
        (*params, today, *UNDECIDED_VALUES),
        table="neighbour_notices",
    )


def past_decision_deadline(
    db: Database, today: date, scope: Scope = EVERYTHING, kinds: tuple[str, ...] = ()
) -> dict[tuple[str, str], int]:
    """Open cases whose decision deadline has passed, per service and municipality; ``kinds``
    narrows to some clocks (``("emergency-help",)``: nødhjelp not decided on its day)."""
    kinds = kinds or ("decision", "emergency-help")
    scoped, params = scope.clauses()
    rows = db.rows(
        "SELECT service, kommunenummer, COUNT(*) AS n FROM deadline_watch "
        f"WHERE {' AND '.join(['1 = 1', *scoped])} "
        f"AND kind IN ({', '.join('?' for _ in kinds)}) AND due < ? "
        "GROUP BY service, kommunenummer",
        (*params, *kinds, today),
    )
    return {(r["service"], r["kommunenummer"]): int(r["n"]) for r in rows}


# ----- archive and retention ------------------------------------------------------------------


def stale_drafts(db: Database, before: datetime, after: str, limit: int) -> list[str]:
    """Drafts last saved before ``before``, after ``after`` in case-id order (draft expiry)."""
    rows = db.rows(
        "SELECT case_id FROM case_overview WHERE case_id > ? AND status = 'draft' "
        "AND last_event_at < ? ORDER BY case_id LIMIT ?",
        (after, before, limit),
    )
    return [str(row["case_id"]) for row in rows]


def granted_by_law(db: Database, as_of: date) -> list[UUID]:
    """Submitted building cases the law grants by ``as_of`` (pbl § 21-7 tredje ledd)."""
    rows = db.rows(
        "SELECT case_id FROM case_overview WHERE status = 'submitted' "
        "AND deemed_granted_on <= ? ORDER BY case_id",
        (as_of,),
        table="case_overview",
    )
    return [UUID(str(row["case_id"])) for row in rows]


def retention_candidates(
    db: Database, as_of: date, after: str, limit: int, registered: Sequence[str] = ()
) -> list[str]:
    """Closed cases past their appeal period (or withdrawn) by ``as_of``, after ``after`` in
    case-id order: the cases a retention run looks at. Cases of the ``registered`` services
    (no decision comes: a høringssvar) count as closed once submitted."""
    marks = ", ".join("?" for _ in registered) or "NULL"
    rows = db.rows(
        "SELECT case_id FROM case_overview WHERE case_id > ? AND ("
        "(status = 'decided' AND appeal_deadline < ?) OR status = 'withdrawn' "
        f"OR (status = 'submitted' AND service IN ({marks}))"
        ") ORDER BY case_id LIMIT ?",
        (after, as_of, *registered, limit),
    )
    return [str(row["case_id"]) for row in rows]


def _archived(
    kommunenummer: str, since: date | None, until: date | None
) -> tuple[list[str], list[Any]]:
    clauses = ["kommunenummer = ?", "status = 'archived'"]
    params: list[Any] = [kommunenummer]
    for column_test, value in (("closed_at >= ?", since), ("closed_at < ?", until)):
        if value is not None:
            clauses.append(column_test)
            params.append(datetime.combine(value, datetime.min.time(), tzinfo=UTC))
    return clauses, params


def count_archived(db: Database, kommunenummer: str, since: date | None, until: date | None) -> int:
    """How many cases a package will hold (for progress and its time remaining)."""
    clauses, params = _archived(kommunenummer, since, until)
    rows = db.rows(f"SELECT COUNT(*) AS n FROM case_overview WHERE {' AND '.join(clauses)}", params)
    return int(rows[0]["n"])


def archived_cases(
    db: Database,
    kommunenummer: str,
    service: str,
    since: date | None,
    until: date | None,
    page: int,
) -> Iterator[UUID]:
    """Archived cases of one service and municipality, closed in the period, in id order."""
    after = ""
    while True:
        clauses, params = _archived(kommunenummer, since, until)
        clauses += ["service = ?", "case_id > ?"]
        params += [service, after]
        rows = db.rows(
            f"SELECT case_id FROM case_overview WHERE {' AND '.join(clauses)} "
            "ORDER BY case_id LIMIT ?",
            (*params, page),
        )
        if not rows:
            return
        yield from (UUID(r["case_id"]) for r in rows)
        after = rows[-1]["case_id"]
