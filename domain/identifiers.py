"""Norwegian person and organisation numbers as value objects.

A fødselsnummer is DDMMYY + individnummer (3 digits) + two control digits k1 k2 (mod 11).
D-nummer adds 4 to the first digit; H-nummer adds 40 to the month. From 2032 the first control
digit may leave a remainder of 0-3 instead of exactly 0, so more numbers exist per birth date;
the second control digit is computed as before. We never derive gender from a number.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

from domain.errors import InvalidIdentifier

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


class ControlDigitRule(enum.Enum):
    """Which control-digit rule a fødselsnummer is checked with."""

    CURRENT = "current"  # k1 leaves remainder 0
    FROM_2032 = "from-2032"  # k1 may leave remainder 0, 1, 2 or 3


class PersonNumberKind(enum.Enum):
    FODSELSNUMMER = "fødselsnummer"
    D_NUMMER = "D-nummer"
    H_NUMMER = "H-nummer"


def mod11_control_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """The classic mod-11 control digit, or None where the remainder makes it 10 (no valid digit)."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    control = (11 - remainder) % 11
    return None if control == 10 else control


def is_ascii_digits(value: str) -> bool:
    """0-9 only: ``str.isdigit`` would let full-width or Arabic-Indic digits through."""
    return value.isascii() and value.isdigit()


def _require_digits(value: str, length: int, what: str) -> str:
    cleaned = value.replace(" ", "")
    if len(cleaned) != length or not is_ascii_digits(cleaned):
        raise InvalidIdentifier(
            f"{what} must be {length} digits 0-9, got {len(cleaned)} characters"
        )
    return cleaned


def _century(individnummer: int, yy: int) -> int | None:
    """Century from the individnummer ranges Skatteetaten allots (None: no range fits)."""
    if individnummer <= 499:
        return 1900
    if individnummer <= 749 and yy >= 54:
        return 1800
    if yy <= 39:
        return 2000
    if individnummer >= 900:
        return 1900
    return None


@dataclass(frozen=True, slots=True)
class Fodselsnummer:
    """A person's national identity number (fødselsnummer, D-nummer or H-nummer)."""

    value: str
    kind: PersonNumberKind
    birth_date: date

    @classmethod
    def parse(
        cls,
        value: str,
        rule: ControlDigitRule = ControlDigitRule.CURRENT,
        today: date | None = None,
    ) -> Fodselsnummer:
        """The number if valid: digits, control digits, a birth date that exists and has come
        (``today``: the calendar's date unless told)."""
        digits = _require_digits(value, 11, "fødselsnummer")
        kind, day, month = _kind_day_month(digits)
        _check_control_digits(digits, rule)
        yy, individnummer = int(digits[4:6]), int(digits[6:9])
        century = _century(individnummer, yy)
        if century is None:
            raise InvalidIdentifier(
                f"fødselsnummer: individnummer {individnummer:03d} is not used for year {yy:02d}"
            )
        try:
            birth_date = date(century + yy, month, day)
        except ValueError:
            raise InvalidIdentifier(
                f"fødselsnummer: {day:02d}.{month:02d}.{century + yy} is not a date"
            ) from None
        if birth_date > (today or date.today()):  # a number is given at birth, never before
            raise InvalidIdentifier("fødselsnummer: its birth date lies in the future")
        return cls(digits, kind, birth_date)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # Never print a whole identity number by accident (logs, tracebacks).
        return f"Fodselsnummer({self.kind.value}, ******{self.value[6:7]}****)"


def birth_day_of_month(number: str) -> int:
    """The day of the month a person was born, from a checked identity number (D-nummer: the
    first digit less four). What selections by person read (riksarkivarens forskrift kap. 7)."""
    return _kind_day_month(_require_digits(number, 11, "fødselsnummer"))[1]


def _kind_day_month(digits: str) -> tuple[PersonNumberKind, int, int]:
    day, month = int(digits[0:2]), int(digits[2:4])
    if day > 40:
        return PersonNumberKind.D_NUMMER, day - 40, month
    if month > 40:
        return PersonNumberKind.H_NUMMER, day, month - 40
    return PersonNumberKind.FODSELSNUMMER, day, month


def _check_control_digits(digits: str, rule: ControlDigitRule) -> None:
    k1_sum = sum(int(d) * w for d, w in zip(digits[:9], K1_WEIGHTS, strict=True)) + int(digits[9])
    allowed = {0} if rule is ControlDigitRule.CURRENT else {0, 1, 2, 3}
    if k1_sum % 11 not in allowed:
        raise InvalidIdentifier(f"fødselsnummer: first control digit is wrong ({rule.value} rule)")
    if mod11_control_digit(digits[:10], K2_WEIGHTS) != int(digits[10]):
        raise InvalidIdentifier("fødselsnummer: second control digit is wrong")


@dataclass(frozen=True, slots=True)
class Organisasjonsnummer:
    """A unit in Enhetsregisteret: 8 digits and a mod-11 control digit."""

    value: str

    @classmethod
    def parse(cls, value: str) -> Organisasjonsnummer:
        digits = _require_digits(value, 9, "organisasjonsnummer")
        if mod11_control_digit(digits[:8], ORGNR_WEIGHTS) != int(digits[8]):
            raise InvalidIdentifier("organisasjonsnummer: control digit is wrong")
        return cls(digits)

    def __str__(self) -> str:
        return self.value


def synthetic_fodselsnummer(
    rng: random.Random,
    birth_date: date,
    kind: PersonNumberKind = PersonNumberKind.FODSELSNUMMER,
) -> str:
    """A checksum-valid, made-up number for a birth date (1900-2039), for tests and demos."""
    yy = birth_date.year % 100
    low, high = (0, 499) if birth_date.year < 2000 else (500, 999)
    day = birth_date.day + (40 if kind is PersonNumberKind.D_NUMMER else 0)
    month = birth_date.month + (40 if kind is PersonNumberKind.H_NUMMER else 0)
    while True:
        base = f"{day:02d}{month:02d}{yy:02d}{rng.randint(low, high):03d}"
        k1 = mod11_control_digit(base, K1_WEIGHTS)
        if k1 is None:
            continue
        k2 = mod11_control_digit(base + str(k1), K2_WEIGHTS)
        if k2 is not None:
            return f"{base}{k1}{k2}"


def synthetic_organisasjonsnummer(rng: random.Random) -> str:
    """A checksum-valid, made-up organisasjonsnummer (starting with 9, like most)."""
    while True:
        base = "9" + "".join(str(rng.randint(0, 9)) for _ in range(7))
        control = mod11_control_digit(base, ORGNR_WEIGHTS)
        if control is not None:
            return f"{base}{control}"


def _validate_fodselsnummer(value: str) -> str:
    return Fodselsnummer.parse(value).value


def _validate_orgnr(value: str) -> str:
    return Organisasjonsnummer.parse(value).value


# Field types for pydantic form models: a valid number, normalised to its digits.
FodselsnummerField = Annotated[str, AfterValidator(_validate_fodselsnummer)]
OrganisasjonsnummerField = Annotated[str, AfterValidator(_validate_orgnr)]
