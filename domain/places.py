"""Municipalities (kommunenummer) and cadastral units (matrikkelnummer)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import AfterValidator

from domain.errors import InvalidIdentifier
from domain.identifiers import is_ascii_digits


@cache
def municipalities() -> dict[str, str]:
    """kommunenummer -> name for the 357 municipalities of the 2024 structure (package data)."""
    text = resources.files("domain").joinpath("data/kommuner.csv").read_text(encoding="utf-8")
    return {row["kommunenummer"]: row["navn"] for row in csv.DictReader(io.StringIO(text))}


def municipality_title(kommunenummer: str) -> str:
    """ "Oslo kommune": how letters and the archive name the municipality (the number itself
    where the list does not know it)."""
    return f"{municipalities().get(kommunenummer, kommunenummer)} kommune"


@dataclass(frozen=True, slots=True)
class Kommunenummer:
    """A municipality number of the 2024 structure. The first two digits are the county."""

    value: str

    @classmethod
    def parse(cls, value: str) -> Kommunenummer:
        if len(value) != 4 or not is_ascii_digits(value):
            raise InvalidIdentifier(
                f"kommunenummer must be 4 digits with leading zero, got {value!r}"
            )
        if value not in municipalities():
            raise InvalidIdentifier(f"kommunenummer {value} is not a municipality in 2024")
        return cls(value)

    @property
    def name(self) -> str:
        return municipalities()[self.value]

    @property
    def county(self) -> str:
        return self.value[:2]

    def __str__(self) -> str:
        return self.value


_MATRIKKEL = re.compile(r"^(\d{4})-(\d{1,5})/(\d{1,4})(?:/(\d{1,4}))?(?:/(\d{1,3}))?$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Matrikkelnummer:
    """kommunenummer-gnr/bnr[/fnr][/snr]: gårds-, bruks-, feste- and seksjonsnummer."""

    kommune: Kommunenummer
    gnr: int
    bnr: int
    fnr: int = 0
    snr: int = 0

    @classmethod
    def parse(cls, value: str) -> Matrikkelnummer:
        match = _MATRIKKEL.match(value.strip())
        if match is None:
            raise InvalidIdentifier(
                "matrikkelnummer must look like 0301-208/93[/fnr][/snr] "
                "(gnr ≤ 5 digits, bnr ≤ 4, fnr ≤ 4, snr ≤ 3)"
            )
        knr, gnr, bnr, fnr, snr = match.groups()
        if int(gnr) == 0 or int(bnr) == 0:
            # a property can point at a person: the message never quotes the number
            raise InvalidIdentifier("matrikkelnummer: gnr and bnr must be above 0")
        return cls(Kommunenummer.parse(knr), int(gnr), int(bnr), int(fnr or 0), int(snr or 0))

    def __str__(self) -> str:
        text = f"{self.kommune}-{self.gnr}/{self.bnr}"
        if self.fnr or self.snr:
            text += f"/{self.fnr}"
        if self.snr:
            text += f"/{self.snr}"
        return text


def _validate_matrikkelnummer(value: str) -> str:
    return str(Matrikkelnummer.parse(value))


MatrikkelnummerField = Annotated[str, AfterValidator(_validate_matrikkelnummer)]
