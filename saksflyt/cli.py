# PYTHON_ARGCOMPLETE_OK  (shell completion: eval "$(register-python-argcomplete saksflyt)")
"""The saksflyt command line: case processing for municipal e-services on an event store, Kafka
and read models. Every option's environment variable is named in its help; exit codes and
completion are in docs/cli.md."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import socket
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import argcomplete
from argcomplete.completers import ChoicesCompleter
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from consumers.collector import settle_collector
from domain.lifecycle import Status
from domain.services import default_services
from projections import queries
from saksflyt import asyncapi, processes, rebuild
from saksflyt.access.commands import add_access_commands
from saksflyt.access.tokens import NotConfigured, ensure_dev_key
from saksflyt.archive.commands import (
    add_draft_commands,
    add_export_commands,
    add_retention_commands,
)
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.catalogue.commands import add_catalogue_commands
from saksflyt.catalogue.process import svg as process_svg
from saksflyt.clocks import add_clock_commands
from saksflyt.command_line import (
    Exit,
    UserError,
    count,
    finish,
    kommunenummer,
    run,
    service_code,
    status,
)
from saksflyt.demo.report import print_projection_summary, render, render_scenarios, summarise
from saksflyt.demo.scenarios import run_scenarios
from saksflyt.demo.simulation import HORIZON, run_demo
from saksflyt.http.documents import DocumentStore, referenced_documents
from saksflyt.notices.channels import MailboxChannel
from saksflyt.notices.commands import add_notices_commands
from saksflyt.notices.process import policy_for
from saksflyt.ops import logs
from saksflyt.ops.metrics import REBUILD_PROGRESS
from saksflyt.output import FORMATS, emit
from saksflyt.privacy.commands import add_privacy_commands
from saksflyt.privacy.vault import KeyVault
from saksflyt.records import records_database
from saksflyt.settings import Settings, command_line
from schemas.catalogue import render_catalogue
from schemas.compatibility import check_registry
from schemas.registry import SCHEMA_DIR, Registry

PROGRESS_FROM = 2000  # show a progress bar for runs at least this long
log = logging.getLogger("saksflyt.serve")
DEV_KEY = Path("var/dev-signing-key.pem")  # the demo's development token key
DEV_KEY_WARNING = (
    "tokens signed with the development key are trusted (SAKSFLYT_AUTH_DEV_KEY): anyone who can "
    "read that file can mint any role; never in production"
)


def _me() -> str:
    """How to call this program again from here: ``saksflyt`` when that is on the PATH (an
    activated virtualenv), else the path it was called by (``.venv/bin/saksflyt``)."""
    called = Path(sys.argv[0])
    on_path = shutil.which("saksflyt")
    if on_path and Path(on_path).resolve() == called.resolve():
        return "saksflyt"
    try:
        return str(called.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(called)


def _clear_demo_store(settings: Settings, outbox: Path) -> None:
    """Start afresh: the embedded store and what lives beside it, never what another store may
    own — a read-model file or attachment folder placed elsewhere is refused, not cleared."""
    if settings.event_store != "sqlite":
        raise UserError(
            "the demo starts afresh only on the embedded SQLite store; on PostgreSQL add --keep",
            Exit.REFUSED,
        )
    elsewhere = [p for p in settings.placed_elsewhere() if p.exists()]
    if elsewhere:
        raise UserError(
            f"will not clear {', '.join(map(str, elsewhere))}: placed away from "
            f"{settings.sqlite_path}, it may be another store's; add --keep or unset it",
            Exit.REFUSED,
        )
    for path in (settings.sqlite_path, settings.projection_sqlite_path, outbox):
        if path.parent.resolve() == settings.sqlite_path.parent.resolve():
            path.unlink(missing_ok=True)
    shutil.rmtree(settings.document_dir, ignore_errors=True)


def _demo(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else 160)
    settings = _settings(args)
    outbox = settings.notices_mailbox or settings.sqlite_path.parent / "outbox.mbox"
    if args.fresh:
        _clear_demo_store(settings, outbox)
    app = bootstrap(settings)
    letters_db = records_database(settings)  # the print queue
    mailbox = MailboxChannel(outbox)
    notices = policy_for(settings, app, letters_db, threading.Event(), mailbox)
    notices.max_age = timedelta.max  # the demo's month lies in the past
    assert isinstance(app.vault, KeyVault)
    documents = DocumentStore(settings.document_dir, app.vault)  # a small PDF per attachment
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
            app,
            args.applications,
            seed=args.seed,
            on_case=lambda: progress.advance(task),
            documents=documents,
            notices=notices,
        )
    scripted = run_scenarios(app, documents, notices)
    result.case_ids += [case_id for _, case_id in scripted]
    mailbox.close()
    letters_db.close()
    events = app.recorder.max_notification_id() or 0
    render(summarise(app.get_case(c) for c in result.case_ids), app.catalogue, console)
    render_scenarios([shown for shown, _ in scripted], console)
    console.print(
        f"{len(result.case_ids)} cases, {events} events stored in {result.seconds:.1f} s "
        f"({events / max(result.seconds, 1e-9):,.0f} events/s); "
        f"{result.refused_steps} step{'' if result.refused_steps == 1 else 's'} refused by the "
        "rules (a building too large for its track, an officer deciding while the neighbours' "
        "period still runs)."
    )
    sent, me = notices.tally, _me()
    console.print(
        f"Letters: {sent.sent} e-mails (receipts, requests for documents, preliminary replies, "
        f"decisions) written to {outbox} — nothing left the machine — and {sent.printed} "
        f"to post ({me} notices print --out DIR)."
    )
    how, tally = processes.deliver_demo_events(app, settings, set(result.case_ids))
    console.print(
        f"{sum(tally.by_type.values())} events delivered {how} "
        f"({tally.duplicates} duplicates dropped); most common: "
        + ", ".join(f"{name} {n}" for name, n in tally.by_type.most_common(3))
    )
    store = projection_store(settings)
    print_projection_summary(store.db, HORIZON.date(), console)
    store.db.close()
    diagram = settings.sqlite_path.parent / "process" / "melding-om-tiltak.svg"
    diagram.parent.mkdir(parents=True, exist_ok=True)
    diagram.write_text(process_svg(app.catalogue.service("melding-om-tiltak")), encoding="utf-8")
    console.print(
        f"The service catalogue: {me} services [CODE], or GET /services once served (open "
        f"to anyone). One process diagram, drawn from the domain's rules: {diagram} (open it "
        "in a browser); every service's at GET /services/CODE/process.svg and .bpmn (bpmn.io "
        "opens it), and in docs/services.md."
    )
    console.print(
        f"Query the read models: {me} query stats|overview|deadlines|neighbours — or serve "
        "the API with a development key (see the README):"
    )
    key = ensure_dev_key(settings.auth_dev_key or DEV_KEY)
    console.print(
        f"  export SAKSFLYT_AUTH_DEV_KEY={key}; {me} serve &\n"
        f'  curl -H "Authorization: Bearer $({me} token --role analyst --kommune 0301 '
        '--sub ada)" http://127.0.0.1:8000/stats',
        highlight=False,
        markup=False,
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
    return _write(render_catalogue(Registry.from_directory(args.dir)), args.out)


def _schemas_asyncapi(args: argparse.Namespace) -> int:
    document = asyncapi.document(Registry.from_directory(args.dir), metadata.version("saksflyt"))
    return _write(json.dumps(document, ensure_ascii=False, indent=2) + "\n", args.out)


def _write(text: str, out: Path | None) -> int:
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "kafka", None):
        overrides["kafka"] = args.kafka
    if getattr(args, "metrics_port", None) is not None:
        overrides["metrics_port"] = args.metrics_port
    return Settings.from_env(**overrides)


def _topics_ensure(args: argparse.Namespace) -> int:
    created = processes.ensure(_settings(args))
    print(f"created {len(created)} topics: {', '.join(created) or 'none needed'}")
    return 0


def _relay(args: argparse.Namespace) -> int:
    logs.configure()
    settings = _settings(args)
    published = processes.run_relay(settings, processes.stop_on_signals(), once=args.once)
    print(f"relay published {published} events")
    return 0


def _intake(args: argparse.Namespace) -> int:
    logs.configure()
    processes.run_intake(_settings(args), processes.stop_on_signals())
    return 0


# what a table on a terminal shows of the overview unless --columns says otherwise (its 35
# columns squeezed into one terminal took 75 lines for 5 rows); csv, json and parquet hold all
OVERVIEW_TABLE = (
    "case_id", "service", "kommunenummer", "status", "submitted_at", "decision_deadline",
    "decided_at", "outcome", "appeal_status",
)  # fmt: skip
QUERIES = {
    "overview": lambda db, f: queries.overview(db, f),
    "stats": lambda db, f: queries.stats(db, f, group_by_day=f.date_from is not None),
    "deadlines": lambda db, f: queries.deadlines(db, f),
    "neighbours": lambda db, f: queries.neighbours(db, f),
}


def _query(args: argparse.Namespace) -> int:
    store = projection_store(_settings(args))
    filters = queries.Filters(
        args.service,
        args.municipality,
        args.status,
        args.date_from,
        args.date_to,
        args.limit,
        args.offset,
    )
    rows = QUERIES[args.view](store.db, filters)
    store.db.close()
    readable = args.view == "overview" and args.format == "table"
    columns = args.columns or (OVERVIEW_TABLE if readable else None)
    if columns:
        unknown = [c for c in columns if rows and c not in rows[0]]
        if unknown:
            raise UserError(f"no column {', '.join(unknown)} in {args.view}; {', '.join(rows[0])}")
        rows = [{c: row[c] for c in columns} for row in rows]
    emit(
        rows, args.format, args.view, args.out, Console(width=None if sys.stdout.isatty() else 200)
    )
    return 0


def _project(args: argparse.Namespace) -> int:
    logs.configure()
    processes.run_projector(_settings(args), processes.stop_on_signals())
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    settings = _settings(args)
    app = bootstrap(settings)
    source = rebuild.kafka_source(settings) if args.source == "kafka" else rebuild.StoreSource(app)
    console = Console()
    settle_collector()
    with Progress(
        TextColumn("rebuilding read models"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rebuild", total=source.total, rate="–")
        started = time.perf_counter()

        def report(done: int, _: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=done, rate=f"{rate:,.0f}")
            REBUILD_PROGRESS.set(done / max(source.total, 1))

        applied = rebuild.rebuild(settings, source, report, force=args.force)
    seconds = time.perf_counter() - started
    console.print(
        f"rebuilt all read models from {applied} events in {seconds:.1f} s "
        f"({applied / max(seconds, 1e-9):,.0f} events/s) and swapped them in"
    )
    app.close()
    return 0


def _documents_sweep(args: argparse.Namespace) -> int:
    settings = _settings(args)
    app = bootstrap(settings)
    assert isinstance(app.vault, KeyVault)
    swept = DocumentStore(settings.document_dir, app.vault).sweep(
        referenced_documents(app), older_than_s=args.older_than_hours * 3600
    )
    app.close()
    print(
        f"removed {swept.incoming} half-finished uploads and {swept.unreferenced} files "
        "no attachment refers to"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    logs.configure()

    from saksflyt.http.app import create_app

    settings = _settings(args)
    try:
        app = create_app(settings)
    except NotConfigured as missing:
        raise UserError(str(missing), Exit.CONFIGURATION) from None
    bootstrap(settings).close()  # the stores answer (one line if not), before any banner
    projection_store(settings).db.close()
    records_database(settings).close()
    listening = _listen(args.host, args.port)  # a busy port is said before the banner too
    if settings.auth_dev_key is not None:
        log.warning(DEV_KEY_WARNING, extra={"key": str(settings.auth_dev_key)})
    base = f"http://{args.host}:{args.port}"
    print(f"saksflyt API on {base} — docs {base}/docs, dashboard {base}/dashboard", flush=True)
    settle_collector()  # set up: the collector leaves the application's startup heap alone
    # uvicorn's own lines go through the JSON formatter logs.configure() installed
    with listening:
        config = uvicorn.Config(app, log_config=None, log_level="info")
        uvicorn.Server(config).run(sockets=[listening])
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """The API's socket, bound now: a port in use is one line and exit 3, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on such sockets' connections, and
    # without it every answer on a kept-alive connection waited 40 ms for a delayed ACK
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        said = f"cannot listen on {host}:{port}: {error.strerror}"
        raise UserError(said, Exit.CONFIGURATION) from None
    return listening


def _add_projection_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="HTTP API, read models and /dashboard")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument("--kafka", help=KAFKA_HELP)
    serve.set_defaults(handler=_serve)
    query = commands.add_parser("query", help="query the read models")
    query.add_argument("view", choices=sorted(QUERIES), help="which read model")
    query.add_argument(
        "--service", type=service_code, help="only this service (its code)"
    ).completer = ChoicesCompleter({c: s.name_nb for c, s in default_services().items()})  # type: ignore[attr-defined]
    query.add_argument("--municipality", type=kommunenummer, help="only this kommunenummer")
    query.add_argument(
        "--status", type=status, help="only cases in this status"
    ).completer = ChoicesCompleter({s.value: s.value for s in Status})  # type: ignore[attr-defined]
    query.add_argument(
        "--from", dest="date_from", type=date.fromisoformat, help="from this day (YYYY-MM-DD)"
    )
    query.add_argument(
        "--to", dest="date_to", type=date.fromisoformat, help="up to this day (YYYY-MM-DD)"
    )
    query.add_argument("--limit", type=count, default=100, help="at most this many rows (100)")
    query.add_argument("--offset", type=int, default=0, help="skip this many rows first (0)")
    query.add_argument(
        "--columns",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        help="these columns, comma-separated (a table of the overview shows a readable few by "
        "default; csv, json and parquet hold every column unless this narrows them)",
    )
    query.add_argument("--format", choices=FORMATS, default="table", help="output format (table)")
    query.add_argument("--out", type=Path, help="write to a file (needed for parquet)")
    query.set_defaults(handler=_query)
    project = commands.add_parser("project", help="keep the read models up to date until stopped")
    project.add_argument("--kafka", help=KAFKA_HELP)
    project.add_argument("--metrics-port", type=int, help=METRICS_HELP)
    project.set_defaults(handler=_project)
    rebuild_cmd = commands.add_parser("rebuild", help="rebuild the read models and swap them in")
    rebuild_cmd.add_argument(
        "--source", choices=["store", "kafka"], default="store", help="replay from (store)"
    )
    rebuild_cmd.add_argument("--kafka", help=KAFKA_HELP + "; for --source kafka")
    rebuild_cmd.add_argument(
        "--force", action="store_true", help="swap even an empty result over read models with rows"
    )
    rebuild_cmd.set_defaults(handler=_rebuild)


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
        sub.add_argument("--kafka", help=KAFKA_HELP)
    for sub in (relay, intake):
        sub.add_argument("--metrics-port", type=int, help=METRICS_HELP)


KAFKA_HELP = "Kafka bootstrap servers host:port (SAKSFLYT_KAFKA)"
METRICS_HELP = "serve /metrics, /healthz, /readyz on this port (SAKSFLYT_METRICS_PORT)"
EXAMPLES = {  # one per command: shown under its --help (a test sees that each has one)
    "demo": "saksflyt demo --applications 2000 --seed 7",
    "schemas check": "saksflyt schemas check",
    "schemas docs": "saksflyt schemas docs --out docs/messages.md",
    "schemas asyncapi": "saksflyt schemas asyncapi --out docs/asyncapi.json",
    "documents sweep": "saksflyt documents sweep --older-than-hours 24",
    "topics ensure": "SAKSFLYT_KAFKA=kafka:9092 saksflyt topics ensure",
    "relay": "saksflyt relay --kafka kafka:9092 --metrics-port 9101",
    "intake": "saksflyt intake --kafka kafka:9092 --metrics-port 9102",
    "serve": "SAKSFLYT_AUTH_DEV_KEY=var/dev-signing-key.pem saksflyt serve --port 8000",
    "query": "saksflyt query overview --service melding-om-tiltak --municipality 0301 --format csv",
    "project": "saksflyt project --kafka kafka:9092 --metrics-port 9103",
    "rebuild": "saksflyt rebuild --source kafka --kafka kafka:9092",
    "keys init": "SAKSFLYT_KEY_RING=/secure/keyring.json saksflyt keys init",
    "keys rotate": "saksflyt keys rotate --retire",
    "keys public": "saksflyt keys public --municipality 0301",
    "erase": "saksflyt erase --case 0b8c… --reason 'kassasjon etter vedtak' --by arkivar",
    "erasures": "saksflyt erasures --case 0b8c…",
    "token": "saksflyt token --role caseworker --kommune 0301 --sub kari",
    "revoke": "saksflyt revoke --subject kari --reason 'mistet PC'",
    "access-log": "saksflyt access-log --subject kari --since 2026-11-01T00:00+01:00",
    "verify": "saksflyt verify --checkpoints",
    "checkpoint": "saksflyt checkpoint --every 300",
    "retention run": "saksflyt retention run --dry-run --as-of 2026-12-31",
    "retention watch": "saksflyt retention watch --interval 3600",
    "export noark5": "saksflyt export noark5 --municipality 0301 --out uttrekk --schemas xsd/",
    "export eventlog": "saksflyt export eventlog --format ocel --municipality 0301 --out 0301.jsonocel",
    "notices run": "SAKSFLYT_SMTP_HOST=smtp.kommune.no saksflyt notices run",
    "notices print": "saksflyt notices print --municipality 0301 --out post/",
    "services": "saksflyt services melding-om-tiltak --format json",
    "drafts expire": "saksflyt drafts expire --dry-run",
    "clocks run": "saksflyt clocks run --dry-run",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saksflyt",
        description=__doc__,
        epilog="Start with: saksflyt demo; then saksflyt query overview. Help on one command: "
        "saksflyt COMMAND --help.",
    )
    parser.add_argument(
        "--version", action="version", version=f"saksflyt {metadata.version('saksflyt')}"
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    parser.add_argument(
        "--db", type=Path, help="the SQLite event store for this command (SAKSFLYT_SQLITE_PATH)"
    )
    parser.add_argument(
        "--read-models",
        type=Path,
        help="the SQLite read models (SAKSFLYT_PROJECTION_SQLITE_PATH; default: beside the store)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="simulate a month of applications and print a summary")
    demo.add_argument("--applications", type=int, default=800, help="how many applications (800)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed, for repeatable runs")
    demo.add_argument(
        "--db", dest="demo_db", type=Path, help="SQLite event store (SAKSFLYT_SQLITE_PATH)"
    )
    demo.add_argument(
        "--keep",
        dest="fresh",
        action="store_false",
        help="add to an existing SQLite file instead of starting afresh",
    )
    demo.add_argument(
        "--kafka", help="also publish every event to Kafka and read it back (SAKSFLYT_KAFKA)"
    )
    demo.set_defaults(handler=_demo)

    schemas = commands.add_parser("schemas", help="check or document the Avro message contracts")
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    check = schema_commands.add_parser(
        "check", help="fail if a schema cannot read its previous version"
    )
    docs = schema_commands.add_parser("docs", help="write the Markdown message catalogue")
    contract = schema_commands.add_parser(
        "asyncapi", help="write the AsyncAPI 3 document of every topic and message"
    )
    for sub in (docs, contract):
        sub.add_argument("--out", type=Path, help="file to write (default: standard output)")
    for sub, handler in (
        (check, _schemas_check),
        (docs, _schemas_docs),
        (contract, _schemas_asyncapi),
    ):
        sub.add_argument(
            "--dir", type=Path, default=SCHEMA_DIR, help="folder with events/ and commands/"
        )
        sub.set_defaults(handler=handler)

    documents = commands.add_parser("documents", help="the attachment store")
    documents_commands = documents.add_subparsers(dest="documents_command", required=True)
    sweep = documents_commands.add_parser(
        "sweep", help="remove half-finished uploads and files no stored attachment refers to"
    )
    sweep.add_argument(
        "--older-than-hours", type=float, default=1.0, help="leave younger files alone (1)"
    )
    sweep.set_defaults(handler=_documents_sweep)

    _add_kafka_commands(commands)
    _add_projection_commands(commands)
    add_privacy_commands(commands)
    add_access_commands(commands)
    add_retention_commands(commands)
    add_export_commands(commands)
    add_notices_commands(commands)
    add_catalogue_commands(commands)
    add_draft_commands(commands)
    add_clock_commands(commands)
    return finish(parser, EXAMPLES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    db = getattr(args, "demo_db", None) or args.db
    with command_line(sqlite_path=db, projection_sqlite_path=args.read_models):
        name = _command_name(args)
        return run(name, lambda: _on_a_store_that_exists(args, name), args.debug)


def _command_name(args: argparse.Namespace) -> str:
    """``keys rotate`` for ``saksflyt keys rotate``."""
    chosen = (v for k, v in vars(args).items() if k.endswith("_command") and v)
    return " ".join([args.command, *chosen])


# commands that only work on a store that is there: run on a path that is not, they would make
# an empty one and answer as if it were (a mistyped --db looked like an empty store); a query
# reads the read models only
NEEDS_A_STORE = {
    "rebuild", "verify", "checkpoint", "erase", "erasures", "access-log", "export", "retention",
    "documents", "revoke", "keys rotate", "notices print",
}  # fmt: skip


def _on_a_store_that_exists(args: argparse.Namespace, command: str) -> int:
    settings = Settings.from_env()
    if settings.event_store == "sqlite":
        if command in NEEDS_A_STORE or args.command in NEEDS_A_STORE:
            _must_exist(settings.sqlite_path, "event store", "--db, SAKSFLYT_SQLITE_PATH")
        elif args.command == "query" and (settings.projection_store or "sqlite") == "sqlite":
            where = "--read-models, SAKSFLYT_PROJECTION_SQLITE_PATH"
            _must_exist(settings.projection_sqlite_path, "read models", where)
    return int(args.handler(args))


def _must_exist(path: Path, what: str, named_by: str) -> None:
    if not path.exists():
        raise UserError(
            f"no {what} at {path} ({named_by}); saksflyt demo or serve makes them",
            Exit.CONFIGURATION,
        )
