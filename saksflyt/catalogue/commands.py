"""``saksflyt services [CODE] [--municipality N] [--format table|json|markdown|svg|bpmn]``: the
catalogue, and each service's process model as an SVG diagram or BPMN 2.0."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from domain.errors import UnknownService
from domain.services import Service
from saksflyt.catalogue import process
from saksflyt.catalogue.published import form_schema, markdown, published
from saksflyt.output import print_table
from saksflyt.settings import Settings


def _services(args: argparse.Namespace) -> int:
    catalogue = Settings.from_env().catalogue()
    if args.format == "markdown":
        print(markdown(catalogue), end="")
        return 0
    codes = [args.code] if args.code else catalogue.codes()
    try:
        rows = [
            published(catalogue.service(c, args.municipality), catalogue, args.municipality)
            for c in codes
        ]
    except UnknownService as error:
        print(f"saksflyt services: {error}", file=sys.stderr)
        return 2
    if args.format in DIAGRAMS:
        return _diagrams(args, [catalogue.service(c, args.municipality) for c in codes])
    if args.format == "json":
        if args.code:
            rows[0]["form_schema"] = form_schema(args.code)
        print(json.dumps(rows[0] if args.code else rows, ensure_ascii=False, indent=2))
        return 0
    print_table([_line(r) for r in rows], "Services", Console(width=160))
    return 0


DIAGRAMS = {"svg": process.svg, "bpmn": process.bpmn}


def _diagrams(args: argparse.Namespace, services: list[Service]) -> int:
    """One service's diagram on stdout, or every (or the one) service's into ``--out``."""
    draw = DIAGRAMS[args.format]
    if args.out is None and len(services) == 1:
        print(draw(services[0]))
        return 0
    if args.out is None:
        print("saksflyt services: name a service or --out DIR for every diagram", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for service in services:
        path = args.out / f"{service.code}.{args.format}"
        path.write_text(draw(service) + "\n", encoding="utf-8")
        print(path)
    return 0


def _line(row: dict[str, Any]) -> dict[str, Any]:
    clock = row["deadlines"]
    days = clock["decision_days"]
    return {
        "code": row["code"],
        "name": row["name"]["nb"],
        "decision": "none"
        if not row["individual_decision"]
        else f"{days or '–'} days" + (" (law)" if clock["statutory"] else ""),
        "appeal days": clock["appeal_days"] or "–",
        "sensitivity": row["sensitivity"],
        "required attachments": ", ".join(row["attachments"]["required"]) or "–",
        "retention": f"{row['retention']['action']} after {row['retention']['after_days']} d",
    }


def add_catalogue_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "services",
        help="the service catalogue: law, clocks, attachments, form",
        description="Examples: saksflyt services melding-om-tiltak --municipality 0301 --format json; "
        "saksflyt services --format svg --out docs/process",
    )
    parser.add_argument(
        "code", nargs="?", help="one service (its JSON adds the form's JSON Schema)"
    )
    parser.add_argument(
        "--municipality",
        help="apply this kommunenummer's settings (SAKSFLYT_MUNICIPALITY_SETTINGS)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "markdown", *DIAGRAMS),
        default="table",
        help="markdown: the whole catalogue as docs/services.md; svg, bpmn: the process model",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="with --format svg or bpmn: write <code>.svg/.bpmn here (docs/process for the docs)",
    )
    parser.set_defaults(handler=_services)
