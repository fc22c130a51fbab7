"""Bounds on every time and value a command carries, before anything is stored (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput, InvalidTime
from domain.payload import MAX_DEPTH, MAX_ITEMS, check_payload
from domain.timing import CLOCK_SKEW, EARLIEST, check_signed_at, record_time

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_without_a_sender_time_the_record_is_when_it_arrived() -> None:
    assert record_time(NOW, None, None) == NOW
    assert record_time(NOW, None, NOW - timedelta(hours=1)) == NOW


def test_the_server_clock_is_never_held_against_the_sender() -> None:
    """Stamped before another request that committed first: recorded just after it."""
    later = NOW + timedelta(milliseconds=3)
    assert record_time(NOW, None, later) == later


def test_a_sender_time_a_little_before_the_previous_event_is_recorded_just_after_it() -> None:
    """A letter recorded on the case while the command waited (the intake down for a moment):
    found by the fault campaign, where such commands were refused."""
    letter = NOW - timedelta(minutes=1)
    assert record_time(NOW, letter - timedelta(seconds=2), letter) == letter
    assert record_time(NOW, letter - CLOCK_SKEW, letter) == letter
    too_early = letter - CLOCK_SKEW - timedelta(seconds=1)  # the rules refuse this one
    assert record_time(NOW, too_early, letter) == too_early


@pytest.mark.parametrize(
    ("issued_at", "code"),
    [
        (datetime(1999, 12, 31, 23, tzinfo=UTC), "time-too-early"),
        (datetime(1, 1, 1, 0, 30, tzinfo=UTC), "time-too-early"),
        (datetime(9999, 12, 1, tzinfo=UTC), "time-in-the-future"),
        (NOW + CLOCK_SKEW + timedelta(seconds=1), "time-in-the-future"),
        (NOW + timedelta(days=40), "time-in-the-future"),
        (datetime(2026, 11, 29, 12), "time-without-zone"),
    ],
)
def test_a_sender_time_out_of_bounds_is_refused(issued_at: datetime, code: str) -> None:
    with pytest.raises(InvalidTime) as refused:
        record_time(NOW, issued_at, None)
    assert refused.value.code == code


@given(st.datetimes(min_value=EARLIEST.replace(tzinfo=None), max_value=NOW.replace(tzinfo=None)))
def test_a_sender_time_within_bounds_is_the_record(moment: datetime) -> None:
    issued_at = moment.replace(tzinfo=UTC)
    assert record_time(NOW, issued_at, None) == issued_at


@pytest.mark.parametrize(
    ("signed_at", "code"),
    [
        (NOW - timedelta(days=31), "signed-too-long-ago"),
        (NOW - timedelta(days=90), "signed-too-long-ago"),
        (NOW + timedelta(hours=1), "signed-in-the-future"),
    ],
)
def test_when_the_applicant_signed_is_bounded(signed_at: datetime, code: str) -> None:
    with pytest.raises(InvalidTime) as refused:
        check_signed_at(signed_at, NOW)
    assert refused.value.code == code
    check_signed_at(NOW - timedelta(days=29), NOW)
    check_signed_at(None, NOW)


def _nest(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"navn": "\ud800"}, "text-not-unicode"),
        ({"\udfff": "x"}, "text-not-unicode"),
        (["ok", {"x": float("nan")}], "number-not-finite"),
        ({"belop": float("inf")}, "number-not-finite"),
        (_nest(MAX_DEPTH + 1), "too-deep"),
        ({str(i): i for i in range(MAX_ITEMS + 1)}, "too-many-items"),
        ("x" * 20_001, "text-too-long"),
    ],
    ids=["surrogate", "surrogate-key", "nan", "infinity", "deep", "wide", "long"],
)
def test_values_that_could_not_be_stored_are_refused(value: object, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_payload(value)
    assert refused.value.code == code


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=20))
def test_ordinary_json_passes(value: object) -> None:
    check_payload({"form": value})
