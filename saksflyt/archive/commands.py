"""``saksflyt retention run|watch``, ``saksflyt export noark5`` and ``export eventlog``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from domain.lifecycle import OSLO
from projections import queries
from saksflyt import eventlog
from saksflyt.archive import drafts, noark5, retention
from saksflyt.archive.conversion import ConversionUnavailable
from saksflyt.archive.numbers import Numbers
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.command_line import kommunenummer, service_code
from saksflyt.jobs import caught_up
from saksflyt.output import print_table
from saksflyt.processes import ops_server, stop_on_signals
from saksflyt.records import records_database
from saksflyt.settings import Settings


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    console = Console()
    with caught_up(settings) as (app, store):
        at = retention.moment(args.as_of)
        planned = list(retention.plan(app, store, at.astimezone(OSLO).date()))
        if args.dry_run:
            print_table([p.row() for p in planned], f"retention plan for {at:%Y-%m-%d}", console)
            return 0
        numbers_db = records_database(settings)
        try:
            done = retention.run(app, planned, at, Numbers(numbers_db))
        finally:
            numbers_db.close()
        if not settings.kafka:
            retention.catch_up(app, store)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(done.items())) or "nothing due"
    console.print(f"retention on {at:%Y-%m-%d}: {summary}")
    return 0


def _watch(args: argparse.Namespace) -> int:
    overrides = {} if args.metrics_port is None else {"metrics_port": args.metrics_port}
    settings = Settings.from_env(**overrides)
    app, store = bootstrap(settings), projection_store(settings)
    numbers_db = records_database(settings)
    try:
        stop = stop_on_signals()
        with ops_server(settings, {"event_store": app.recorder.max_notification_id}):
            done = retention.watch(
                app, store, Numbers(numbers_db), stop, args.interval, not settings.kafka
            )
    finally:
        numbers_db.close()
        store.db.close()
        app.close()
    print(f"retention watch stopped: {dict(done)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    started = time.monotonic()
    try:
        with noark5.package_for(settings, args.municipality, args.out, datetime.now(UTC)) as (
            app,
            store,
            package,
        ):
            if not settings.kafka:
                retention.catch_up(app, store)
            since, until = args.date_from, args.date_to
            total = queries.count_archived(store.db, args.municipality, since, until)
            with Progress(
                TextColumn("exporting"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            ) as progress:  # fmt: skip
                task = progress.add_task("cases", total=total, rate="")

                def advance(n: int) -> None:
                    done = progress.tasks[0].completed + n
                    rate = done / max(time.monotonic() - started, 1e-9)
                    progress.update(task, advance=n, rate=f"{rate:,.0f} cases/s")

                result = noark5.export(app, package, args.schemas, since, until, advance)
    except (noark5.NothingToExport, FileNotFoundError, ConversionUnavailable) as problem:
        print(f"saksflyt export: {problem}", file=sys.stderr)
        return 2
    seconds = time.monotonic() - started
    print(
        f"{result.cases} cases, {result.journalposter} journal entries, {result.files_written} "
        f"document files in {args.out} ({seconds:.1f} s, "
        f"{result.cases / max(seconds, 1e-9):,.0f} cases/s)"
    )
    if result.unconverted:
        print(
            f"warning: {result.unconverted} uploads could not be made PDF/A and are archived as "
            "received (the package says why on each)",
            file=sys.stderr,
        )
    if result.missing:
        print(
            f"warning: {result.missing} uploads were not in the document store (see the package)",
            file=sys.stderr,
        )
    return 0


def add_export_commands(commands: Any) -> None:
    parser = commands.add_parser("export", help="archive exports")
    sub = parser.add_subparsers(dest="export_command", required=True)
    noark = sub.add_parser(
        "noark5",
        help="a Noark 5 v5.0 avleveringspakke of one municipality's archived cases",
        description="Example: saksflyt export noark5 --municipality 0301 --out uttrekk "
        "--schemas /path/to/noark5-xsds (docs/archive.md)",
    )
    noark.add_argument("--municipality", type=kommunenummer, required=True, help="kommunenummer")
    noark.add_argument(
        "--from", dest="date_from", type=date.fromisoformat, help="closed on or after (YYYY-MM-DD)"
    )
    noark.add_argument(
        "--to", dest="date_to", type=date.fromisoformat, help="closed before (YYYY-MM-DD)"
    )
    noark.add_argument("--out", type=Path, required=True, help="folder to write the package into")
    noark.add_argument(
        "--schemas", type=Path, required=True, help="folder with Arkivverket's official XSDs"
    )
    noark.set_defaults(handler=_export)
    events = sub.add_parser(
        "eventlog",
        help="every case's steps as an event log for process mining (XES or OCEL 2.0)",
        description="Example: saksflyt export eventlog --format xes --service sosialhjelp "
        "--out sosialhjelp.xes (docs/process-mining.md). Roles and pseudonymous case ids only, "
        "never a personal value.",
    )
    events.add_argument("--format", choices=eventlog.FORMATS, default="xes", help="xes or ocel")
    events.add_argument(
        "--service", type=service_code, help="only this service's cases (a catalogue code)"
    )
    events.add_argument("--municipality", type=kommunenummer, help="only this municipality's cases")
    events.add_argument("--out", type=Path, required=True, help="the file to write")
    events.set_defaults(handler=eventlog.export_command)


def _expire_drafts(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with caught_up(settings) as (app, store):
        at = retention.moment(args.as_of)
        days = args.after_days or settings.draft_expiry_days
        cases = list(drafts.stale(store, at, days))
        if args.dry_run:
            print(f"{len(cases)} drafts untouched for {days} days would be expired and erased")
            return 0
        done = drafts.expire(app, cases, at, days)
        print(f"drafts: {dict(done) or 'none due'}")
        return 0


def add_draft_commands(commands: Any) -> None:
    parser = commands.add_parser("drafts", help="drafts nobody finished")
    sub = parser.add_subparsers(dest="drafts_command", required=True)
    expire = sub.add_parser(
        "expire",
        help="withdraw abandoned drafts and erase their personal data",
        description="Drafts untouched for SAKSFLYT_DRAFT_EXPIRY_DAYS (90) are withdrawn and "
        "shredded: their personal data goes with the case's key. Safe to repeat and to run in "
        "several processes. Example: saksflyt drafts expire --dry-run",
    )
    expire.add_argument("--dry-run", action="store_true", help="count them, change nothing")
    expire.add_argument("--after-days", type=int, help="days untouched (default: the setting)")
    expire.add_argument(
        "--as-of", type=date.fromisoformat, help="act as on this day (YYYY-MM-DD; default today)"
    )
    expire.set_defaults(handler=_expire_drafts)


def add_retention_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "retention", help="archive or shred closed cases whose time has come"
    )
    sub = parser.add_subparsers(dest="retention_command", required=True)
    run = sub.add_parser(
        "run",
        help="apply retention once",
        description="Archive or shred every closed case whose retention is due, by its "
        "service's policy and the municipality's override. Safe to repeat and to run in "
        "several processes. Example: saksflyt retention run --dry-run",
    )
    run.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    run.add_argument(
        "--as-of", type=date.fromisoformat, help="act as on this day (YYYY-MM-DD; default today)"
    )
    run.set_defaults(handler=_run)
    watch = sub.add_parser("watch", help="apply retention now and then on a schedule until stopped")
    watch.add_argument("--interval", type=float, default=3600.0, help="seconds between runs (3600)")
    watch.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics, /healthz, /readyz on this port (SAKSFLYT_METRICS_PORT)",
    )
    watch.set_defaults(handler=_watch)
