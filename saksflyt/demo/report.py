"""The demo's summary: per service, counts by status, median days to decision, late decisions."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from domain.application import Application
from domain.lifecycle import Status
from domain.services import Catalogue
from projections import queries

if TYPE_CHECKING:
    from saksflyt.demo.scenarios import Shown


@dataclass
class ServiceSummary:
    statuses: Counter[Status] = field(default_factory=Counter)
    days_to_decision: list[float] = field(default_factory=list)
    decided_past_deadline: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_decision) if self.days_to_decision else None


def summarise(cases: Iterable[Application]) -> dict[str, ServiceSummary]:
    summary: dict[str, ServiceSummary] = defaultdict(ServiceSummary)
    for case in cases:
        row = summary[case.service]
        row.statuses[case.status] += 1
        if case.decided_at and case.submitted_at:
            row.days_to_decision.append(
                (case.decided_at - case.submitted_at).total_seconds() / 86400
            )
            row.decided_past_deadline += case.decided_past_deadline
    return dict(summary)


def render(summary: dict[str, ServiceSummary], catalogue: Catalogue, console: Console) -> None:
    table = Table(title="Applications per service", title_justify="left")
    table.add_column("service", no_wrap=True)
    for status in Status:
        table.add_column(status.value.replace("-", "\n"), justify="right")
    table.add_column("total", justify="right", style="bold")
    table.add_column("median days\nto decision", justify="right")
    table.add_column("decided past\ndeadline", justify="right")
    for code in catalogue.codes():
        row = summary.get(code, ServiceSummary())
        median = f"{row.median_days:.1f}" if row.median_days is not None else "–"
        table.add_row(
            code,
            *(str(row.statuses[s] or "·") for s in Status),
            str(row.total),
            median,
            str(row.decided_past_deadline),
        )
    console.print(table)


def print_projection_summary(db: Any, today: date, console: Console) -> None:
    """What the read models say, as an analyst would ask it."""
    backlog = queries.backlog(db)
    overdue = sum(queries.past_decision_deadline(db, today).values())
    neighbours = queries.open_neighbour_periods(db, today)
    totals = queries.stats(db, queries.Filters(limit=queries.MAX_LIMIT), group_by_day=False)
    decided = sum(
        r["decided_granted"] + r["decided_partly_granted"] + r["decided_refused"] for r in totals
    )
    late = sum(r["decided_past_deadline"] for r in totals)
    console.print(
        f"Read models as of {today}: {sum(backlog.values())} open cases, {overdue} past their "
        f"decision deadline, {len(neighbours)} neighbour comment periods running; "
        f"{decided} decisions, {late} of them late."
    )


def render_scenarios(shown: Iterable[Shown], console: Console) -> None:
    """The paths the law asks for, one scripted case each (``saksflyt.demo.scenarios``)."""
    table = Table(title="Paths the law asks for, one case each (from the spring, run to the end)")
    for column in ("case", "rule", "what happened"):
        table.add_column(column, overflow="fold")
    for row in shown:
        table.add_row(row.name, row.law, row.happened)
    console.print(table)
