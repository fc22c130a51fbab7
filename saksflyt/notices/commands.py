"""``saksflyt notices run`` (the policy, until stopped) and ``saksflyt notices print``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saksflyt.command_line import Exit, UserError, kommunenummer
from saksflyt.notices.process import print_waiting, run_notices
from saksflyt.ops import logs
from saksflyt.processes import stop_on_signals
from saksflyt.settings import Settings


def _run(args: argparse.Namespace) -> int:
    logs.configure()
    overrides: dict[str, Any] = {}
    if args.kafka:
        overrides["kafka"] = args.kafka
    if args.metrics_port is not None:
        overrides["metrics_port"] = args.metrics_port
    settings = Settings.from_env(**overrides)
    try:
        policy = run_notices(settings, stop_on_signals())
    except ValueError as error:  # how to send letters is not set right: one line on stderr
        raise UserError(str(error), Exit.CONFIGURATION) from None
    print(f"notices stopped: {policy.tally}")
    return 0


def _print(args: argparse.Namespace) -> int:
    written = print_waiting(Settings.from_env(), args.out, args.municipality, datetime.now(UTC))
    print(f"{len(written)} letters to post written to {args.out} (PDF/A) and marked printed")
    return 0


def add_notices_commands(commands: Any) -> None:
    parser = commands.add_parser("notices", help="letters to applicants: send, print")
    sub = parser.add_subparsers(dest="notices_command", required=True)
    run = sub.add_parser(
        "run",
        help="send receipts, mangelbrev, preliminary replies and decision letters until stopped",
        description="The notices policy: one letter per occasion, over SMTP (SAKSFLYT_SMTP_HOST) "
        "or into a local mbox file (SAKSFLYT_NOTICES_MAILBOX); people without e-mail go to the "
        "print queue. Reads the events topic when SAKSFLYT_KAFKA is set, else the event store. "
        "Example: SAKSFLYT_SMTP_HOST=smtp.kommune.no saksflyt notices run (docs/notices.md)",
    )
    run.add_argument("--kafka", help="Kafka bootstrap servers host:port (SAKSFLYT_KAFKA)")
    run.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics, /healthz, /readyz on this port (SAKSFLYT_METRICS_PORT)",
    )
    run.set_defaults(handler=_run)
    printing = sub.add_parser(
        "print",
        help="write the print queue's letters as PDF/A files and mark them printed",
        description="Example: saksflyt notices print --municipality 0301 --out post/",
    )
    printing.add_argument("--out", type=Path, required=True, help="folder for the PDF files")
    printing.add_argument("--municipality", type=kommunenummer, help="only this kommunenummer")
    printing.set_defaults(handler=_print)
