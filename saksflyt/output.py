"""Rows out as a table, CSV, JSON or Parquet, for ``saksflyt query``."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from saksflyt.command_line import Exit, UserError

FORMATS = ("table", "csv", "json", "parquet")


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 2)
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _plain(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return (
        json.dumps(
            [{k: _plain(v) for k, v in row.items()} for row in rows], ensure_ascii=False, indent=2
        )
        + "\n"
    )


class ParquetMissing(UserError):
    """Parquet needs pyarrow (~170 MB), an optional extra: ``pip install 'saksflyt[parquet]'``."""

    def __init__(self) -> None:
        super().__init__(
            "Parquet needs pyarrow, which is not installed: pip install 'saksflyt[parquet]' "
            "(CSV and JSON need nothing more)",
            Exit.CONFIGURATION,
        )


def write_parquet(rows: list[dict[str, Any]], out: Path | io.BytesIO) -> None:
    try:
        import pyarrow as pa  # imported here: an optional extra, only this format needs it
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetMissing() from None
    pq.write_table(pa.Table.from_pylist(rows), out)


def print_table(rows: list[dict[str, Any]], title: str, console: Console) -> None:
    table = Table(title=f"{title} ({len(rows)} rows)", title_justify="left")
    for column in rows[0] if rows else ["(no rows)"]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(_plain(v)) for v in row.values()))
    console.print(table)


def emit(
    rows: list[dict[str, Any]], fmt: str, title: str, out: Path | None, console: Console
) -> None:
    if fmt == "parquet":
        if out is None:
            raise UserError("--format parquet needs --out FILE")
        write_parquet(rows, out)
        console.print(f"wrote {len(rows)} rows to {out}")
    elif fmt == "table":
        print_table(rows, title, console)
    else:
        text = to_csv(rows) if fmt == "csv" else to_json(rows)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            print(text, end="")
