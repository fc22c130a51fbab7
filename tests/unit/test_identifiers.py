from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.no import fodselsnummer as stdnum_fodselsnummer

from domain.errors import InvalidIdentifier
from domain.identifiers import (
    K1_WEIGHTS,
    K2_WEIGHTS,
    ControlDigitRule,
    Fodselsnummer,
    Organisasjonsnummer,
    PersonNumberKind,
    mod11_control_digit,
    synthetic_fodselsnummer,
    synthetic_organisasjonsnummer,
)
from domain.places import Kommunenummer, Matrikkelnummer

LAST = date(2039, 12, 31)  # the generator's last birth date: "today" for the tests that use it
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=LAST)
kinds = st.sampled_from(list(PersonNumberKind))
seeds = st.integers(min_value=0, max_value=2**32)


def _change_one_digit(value: str, position: int, delta: int) -> str:
    digit = (int(value[position]) + delta) % 10
    return value[:position] + str(digit) + value[position + 1 :]


@given(birth_dates, kinds, seeds)
def test_generated_person_numbers_are_valid_and_keep_their_birth_date(
    birth: date, kind: PersonNumberKind, seed: int
) -> None:
    number = Fodselsnummer.parse(
        synthetic_fodselsnummer(random.Random(seed), birth, kind), today=LAST
    )
    assert number.kind is kind
    assert number.birth_date == birth


@given(birth_dates, seeds, st.integers(0, 10), st.integers(1, 9))
def test_any_single_digit_change_is_refused(
    birth: date, seed: int, position: int, delta: int
) -> None:
    valid = synthetic_fodselsnummer(random.Random(seed), birth)
    changed = _change_one_digit(valid, position, delta)
    for rule in ControlDigitRule:
        with pytest.raises(InvalidIdentifier):
            Fodselsnummer.parse(changed, rule, today=LAST)


def test_a_birth_date_in_the_future_is_refused() -> None:
    """A fødselsnummer is given at birth (folkeregisterloven § 2-2): none for a date to come."""
    number = synthetic_fodselsnummer(random.Random(1), date(2030, 1, 1))
    with pytest.raises(InvalidIdentifier, match="birth date lies in the future"):
        Fodselsnummer.parse(number, today=date(2026, 11, 30))
    assert Fodselsnummer.parse(number, today=date(2030, 1, 1)).birth_date == date(2030, 1, 1)


eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)


@settings(max_examples=500)
@example("68526664365")  # both D- and H-number: stdnum takes it, nobody is given one
@given(st.one_of(eleven_digits, st.builds(
    lambda birth, kind, seed, position, delta: _change_one_digit(
        synthetic_fodselsnummer(random.Random(seed), birth, kind), position, delta % 10
    ),
    birth_dates, kinds, seeds, st.integers(0, 10), st.integers(0, 9),
)))  # fmt: skip
def test_the_validator_agrees_with_python_stdnum(value: str) -> None:
    """python-stdnum as an oracle (tests only): valid, D- and H-numbers, wrong control digits,
    impossible dates and dates to come are judged alike under today's control-digit rule.
    One known difference: python-stdnum takes a number that is both D- and H-number (day and
    month both raised by 40); no such number is issued, and we refuse it."""
    if int(value[0:2]) > 40 and int(value[2:4]) > 40:
        with pytest.raises(InvalidIdentifier):
            Fodselsnummer.parse(value)
        return
    try:
        Fodselsnummer.parse(value)
        ours = True
    except InvalidIdentifier:
        ours = False
    assert ours == stdnum_fodselsnummer.is_valid(value), value


@given(seeds)
def test_generated_organisation_numbers_are_valid_and_single_digit_changes_are_not(
    seed: int,
) -> None:
    rng = random.Random(seed)
    valid = synthetic_organisasjonsnummer(rng)
    assert Organisasjonsnummer.parse(valid).value == valid
    changed = _change_one_digit(valid, rng.randrange(9), rng.randint(1, 9))
    with pytest.raises(InvalidIdentifier, match="control digit"):
        Organisasjonsnummer.parse(changed)


def _with_k1_remainder(base9: str, remainder: int) -> str | None:
    """A number whose first control check leaves ``remainder`` (the 2032 rule allows 0-3)."""
    weighted = sum(int(d) * w for d, w in zip(base9, K1_WEIGHTS, strict=True))
    k1 = (remainder - weighted) % 11
    if k1 == 10:
        return None
    k2 = mod11_control_digit(base9 + str(k1), K2_WEIGHTS)
    return None if k2 is None else f"{base9}{k1}{k2}"


@pytest.mark.parametrize("remainder", [1, 2, 3])
def test_2032_rule_accepts_remainders_that_todays_rule_refuses(remainder: int) -> None:
    for individnummer in range(100, 200):
        number = _with_k1_remainder(f"170580{individnummer}", remainder)
        if number:
            break
    assert number is not None
    assert Fodselsnummer.parse(number, ControlDigitRule.FROM_2032).birth_date == date(1980, 5, 17)
    with pytest.raises(InvalidIdentifier, match="first control digit"):
        Fodselsnummer.parse(number, ControlDigitRule.CURRENT)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1234567890", "11 digits"),
        ("1234567890a", "11 digits"),
        ("", "11 digits"),
    ],
)
def test_malformed_person_numbers_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        Fodselsnummer.parse(value)


def test_impossible_dates_are_refused_even_with_good_control_digits() -> None:
    number = _with_k1_remainder("310280123", 0)  # 31 February
    assert number is not None
    with pytest.raises(InvalidIdentifier, match="not a date"):
        Fodselsnummer.parse(number)


def test_repr_never_shows_the_whole_number(rng: random.Random) -> None:
    value = synthetic_fodselsnummer(rng, date(1990, 1, 1))
    assert value not in repr(Fodselsnummer.parse(value))


def test_renumbered_municipalities_use_the_2024_number() -> None:
    assert Kommunenummer.parse("3101").name == "Halden"
    assert Kommunenummer.parse("0301").county == "03"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0301-208/93", "0301-208/93"),
        ("0301-208/93/0/12", "0301-208/93/0/12"),
        ("4601-12345/1234/1", "4601-12345/1234/1"),
    ],
)
def test_matrikkelnummer_round_trips(value: str, expected: str) -> None:
    assert str(Matrikkelnummer.parse(value)) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0301-0/93", "above 0"),
        ("0301-208/0", "above 0"),
        ("0301-123456/1", "must look like"),
        ("0301-1/1/1/1234", "must look like"),
        ("9999-1/1", "not a municipality"),
    ],
)
def test_matrikkelnummer_refusals(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        Matrikkelnummer.parse(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [("3001", "not a municipality in 2024"), ("301", "4 digits"), ("03O1", "4 digits")],
)
def test_kommunenummer_refusals(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        Kommunenummer.parse(value)


@pytest.mark.parametrize(
    "number",
    ["０１０１０１１２３４５", "٠١٠١٠١١٢٣٤٥", "0101011234５"],
    ids=["full-width", "arabic-indic", "one-full-width"],
)
def test_identity_numbers_take_ascii_digits_only(number: str) -> None:
    with pytest.raises(InvalidIdentifier, match="digits 0-9"):
        Fodselsnummer.parse(number)


def test_municipality_and_cadastre_numbers_take_ascii_digits_only() -> None:
    with pytest.raises(InvalidIdentifier, match="4 digits"):
        Kommunenummer.parse("０３０１")
    with pytest.raises(InvalidIdentifier, match="must look like"):
        Matrikkelnummer.parse("0301-２/3")
