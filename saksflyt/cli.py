"""The ``saksflyt`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from saksflyt import processes
from saksflyt.bootstrap import bootstrap
from saksflyt.demo import run_demo
from saksflyt.report import render, summarise
from saksflyt.settings import Settings
from schemas.catalogue import render_catalogue
from schemas.compatibility import check_registry
from schemas.registry import SCHEMA_DIR, Registry

PROGRESS_FROM = 2000  # show a progress bar for runs at least this long


def _demo(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else 160)
    overrides: dict[str, Any] = {"sqlite_path": args.db} if args.db else {}
    settings = _settings(args).model_copy(update=overrides)
    if settings.event_store == "sqlite" and args.fresh:
        settings.sqlite_path.unlink(missing_ok=True)
    app = bootstrap(settings)
    where = settings.sqlite_path if settings.event_store == "sqlite" else "PostgreSQL"
    console.print(f"[bold]saksflyt demo[/]: {args.applications} synthetic applications → {where}")
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=args.applications < PROGRESS_FROM,
    ) as progress:
        task = progress.add_task("cases", total=args.applications)
        result = run_demo(
            app, args.applications, seed=args.seed, on_case=lambda: progress.advance(task)
        )
    events = app.recorder.max_notification_id() or 0
    render(summarise(app.get_case(c) for c in result.case_ids), app.catalogue, console)
    console.print(
        f"{len(result.case_ids)} cases, {events} events stored in {result.seconds:.1f} s "
        f"({events / max(result.seconds, 1e-9):,.0f} events/s); "
        f"{result.refused_steps} steps refused by the rules (e.g. deciding during the neighbour period)."
    )
    how, tally = processes.deliver_demo_events(app, settings, set(result.case_ids))
    console.print(
        f"{sum(tally.by_type.values())} events delivered {how} "
        f"({tally.duplicates} duplicates dropped); most common: "
        + ", ".join(f"{name} {n}" for name, n in tally.by_type.most_common(3))
    )
    app.close()
    return 0


def _schemas_check(args: argparse.Namespace) -> int:
    registry = Registry.from_directory(args.dir)
    found = check_registry(registry)
    for problem in found:
        print(f"INCOMPATIBLE {problem}")
    count = sum(len(registry.versions(n)) for n in registry.names())
    print(f"{count} schema files, {len(found)} problems")
    return 1 if found else 0


def _schemas_docs(args: argparse.Namespace) -> int:
    text = render_catalogue(Registry.from_directory(args.dir))
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"kafka": args.kafka} if getattr(args, "kafka", None) else {}
    return Settings.from_env(**overrides)


def _topics_ensure(args: argparse.Namespace) -> int:
    created = processes.ensure(_settings(args))
    print(f"created {len(created)} topics: {', '.join(created) or 'none needed'}")
    return 0


def _relay(args: argparse.Namespace) -> int:
    settings = _settings(args)
    published = processes.run_relay(settings, processes.stop_on_signals(), once=args.once)
    print(f"relay published {published} events")
    return 0


def _intake(args: argparse.Namespace) -> int:
    processes.run_intake(_settings(args), processes.stop_on_signals())
    return 0


def _add_kafka_commands(commands: Any) -> None:
    topics = commands.add_parser("topics", help="Kafka topics")
    topics_commands = topics.add_subparsers(dest="topics_command", required=True)
    ensure = topics_commands.add_parser("ensure", help="create missing topics (see docs/kafka.md)")
    ensure.set_defaults(handler=_topics_ensure)
    relay = commands.add_parser("relay", help="publish stored events to Kafka until stopped")
    relay.add_argument("--once", action="store_true", help="publish what is there, then exit")
    relay.set_defaults(handler=_relay)
    intake = commands.add_parser("intake", help="apply commands from Kafka until stopped")
    intake.set_defaults(handler=_intake)
    for sub in (ensure, relay, intake):
        sub.add_argument("--kafka", help="bootstrap servers host:port (default: SAKSFLYT_KAFKA)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saksflyt", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="simulate a month of applications and print a summary")
    demo.add_argument("--applications", type=int, default=800, help="how many applications (800)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed, for repeatable runs")
    demo.add_argument("--db", type=Path, help="SQLite file (default: SAKSFLYT_SQLITE_PATH)")
    demo.add_argument(
        "--keep",
        dest="fresh",
        action="store_false",
        help="add to an existing SQLite file instead of starting afresh",
    )
    demo.add_argument("--kafka", help="also publish every event to Kafka and read it back")
    demo.set_defaults(handler=_demo)

    schemas = commands.add_parser("schemas", help="check or document the Avro message contracts")
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    check = schema_commands.add_parser(
        "check", help="fail if a schema cannot read its previous version"
    )
    docs = schema_commands.add_parser("docs", help="write the Markdown message catalogue")
    docs.add_argument("--out", type=Path, help="file to write (default: standard output)")
    for sub, handler in ((check, _schemas_check), (docs, _schemas_docs)):
        sub.add_argument(
            "--dir", type=Path, default=SCHEMA_DIR, help="folder with events/ and commands/"
        )
        sub.set_defaults(handler=handler)

    _add_kafka_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
