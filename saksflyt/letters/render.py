"""Render a letter from its template: the first line is the title, the rest the body.

The same text is the body of an e-mail and the content of the PDF/A the archive keeps. A
template is looked up for the service first (``nb/<service>/<kind>.txt.j2``), then for all
services (``nb/<kind>.txt.j2``); a missing value in the context is an error, never a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2

from domain.lifecycle import local_date

MONTHS_NB: tuple[str, ...] = ("januar", "februar", "mars", "april", "mai", "juni", "juli")
MONTHS_NB += ("august", "september", "oktober", "november", "desember")
LANGUAGES = ("nb", "nn")  # bokmål, nynorsk


@dataclass(frozen=True)
class Letter:
    kind: str  # the template's name: kvittering, vedtak, ...
    title: str
    body: str
    dated: date


def dato(value: date | datetime) -> str:
    """3. mars 2026: a date as a letter writes it (a moment counts in Norwegian local time)."""
    day = local_date(value) if isinstance(value, datetime) else value
    return f"{day.day}. {MONTHS_NB[day.month - 1]} {day.year}"


def verdi(value: Any) -> str:
    """A form value as a reader wants it: ja/nei, lists joined, nested fields in brackets."""
    if isinstance(value, bool):
        return "ja" if value else "nei"
    if isinstance(value, list):
        return ", ".join(verdi(item) for item in value) or "–"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {verdi(item)}" for key, item in sorted(value.items()))
    if isinstance(value, date | datetime):
        return dato(value)
    return "–" if value is None or value == "" else str(value)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("saksflyt.letters", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text: nothing here is HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["dato"] = dato
    env.filters["verdi"] = verdi
    return env


def render(
    kind: str, service: str, dated: date, context: Mapping[str, Any], language: str = "nb"
) -> Letter:
    """The letter ``kind`` for ``service``, with ``context`` filling the template."""
    if language not in LANGUAGES:
        raise ValueError(f"no letters in language {language!r}; there are {', '.join(LANGUAGES)}")
    template = environment().select_template(
        [f"{language}/{service}/{kind}.txt.j2", f"{language}/{kind}.txt.j2"]
    )
    title, _, body = template.render(context).partition("\n")
    return Letter(kind=kind, title=title.strip(), body=body.strip() + "\n", dated=dated)
