"""``saksflyt clocks run``: what the law makes happen when a clock runs out. Today one thing:
a building case on its three-week clock, with no objection and needing no dispensation or other
authority's consent, still undecided the day after its deadline, is granted by law (pbl § 21-7
annet ledd). Found by the read model's ``deemed_granted_on``; each case checked again by the
aggregate, and recorded once however often or in how many processes the run is repeated (the
command id comes from the case and the version it was seen at)."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain import commands as cmd
from domain.casework import Casework
from projections import queries
from saksflyt.archive import retention
from saksflyt.jobs import caught_up, once_per_version
from saksflyt.settings import Settings

GRANT_COMMANDS = UUID("5c1d7e0a-93b4-4a4f-8d2e-1f6b0c9a7e31")


def grant_by_law(app: Casework, cases: list[UUID], at: datetime) -> Counter[str]:
    """Record each grant; a case decided, paused or objected to since it was read is refused by
    the aggregate with its reason (and counted), never granted."""
    return Counter(
        once_per_version(
            app,
            case_id,
            cmd.DeemPermitGranted,
            GRANT_COMMANDS,
            "granted by law",
            received_at=at,
            actor="saksflyt-clocks",
        )
        for case_id in cases
    )


def _run(args: argparse.Namespace) -> int:
    with caught_up(Settings.from_env()) as (app, store):
        at = retention.moment(args.as_of)
        cases = queries.granted_by_law(store.db, args.as_of or at.date())
        if args.dry_run:
            print(f"{len(cases)} building cases would be granted by law (pbl § 21-7)")
            return 0
        print(f"clocks: {dict(grant_by_law(app, cases, at)) or 'nothing due'}")
        return 0


def add_clock_commands(commands: Any) -> None:
    parser = commands.add_parser("clocks", help="what the law makes happen when a clock runs out")
    sub = parser.add_subparsers(dest="clocks_command", required=True)
    run = sub.add_parser(
        "run",
        help="grant building permits by law where the three weeks ran out (pbl § 21-7)",
        description="Run daily. Safe to repeat and to run in several processes. "
        "Example: saksflyt clocks run --dry-run",
    )
    run.add_argument("--dry-run", action="store_true", help="count them, change nothing")
    run.add_argument(
        "--as-of", type=date.fromisoformat, help="act as on this day (YYYY-MM-DD; default today)"
    )
    run.set_defaults(handler=_run)
