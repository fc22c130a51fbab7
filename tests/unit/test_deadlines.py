from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import deadlines
from domain.deadlines import Pause


@pytest.mark.parametrize(
    ("start", "days", "pauses", "expected", "why"),
    [
        (date(2026, 3, 2), 21, [], date(2026, 3, 23), "plain Monday"),
        (date(2026, 3, 6), 22, [], date(2026, 3, 30), "Saturday moves to Monday"),
        (
            date(2026, 3, 2),
            21,
            [Pause(date(2026, 3, 5), date(2026, 3, 15))],
            date(2026, 4, 7),
            "10 paused days land on Skjærtorsdag; Easter moves it to Tuesday",
        ),
        (date(2026, 12, 4), 21, [], date(2026, 12, 28), "Christmas Day and a weekend"),
        (date(2027, 4, 26), 21, [], date(2027, 5, 18), "17 May (Monday) is a holiday"),
        (date(2026, 4, 20), 25, [], date(2026, 5, 15), "Ascension Day is 14 May, a Friday is not"),
        (date(2026, 3, 2), 84, [], date(2026, 5, 26), "Whit Monday 25 May 2026"),
    ],
)
def test_deadline_table(
    start: date, days: int, pauses: list[Pause], expected: date, why: str
) -> None:
    assert deadlines.deadline(start, days, pauses) == expected, why


def test_an_open_pause_stops_the_clock() -> None:
    assert deadlines.decision_deadline(date(2026, 3, 2), 21, [Pause(date(2026, 3, 5))]) is None


def test_no_decision_clock_for_services_without_one() -> None:
    assert deadlines.decision_deadline(date(2026, 3, 2), None) is None


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 16)),
        (date(2026, 3, 20), date(2026, 4, 7)),  # 3 April is Langfredag; 6 April 2. påskedag
    ],
)
def test_neighbour_comment_deadline_is_two_weeks(sent: date, expected: date) -> None:
    assert deadlines.neighbour_comment_deadline(sent) == expected


@pytest.mark.parametrize(
    ("decided", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 23)),
        (date(2027, 4, 26), date(2027, 5, 18)),  # 17 May
        (date(2026, 12, 10), date(2026, 12, 31)),  # New Year's Eve is a working day
    ],
)
def test_appeal_deadline_is_three_weeks(decided: date, expected: date) -> None:
    assert deadlines.appeal_deadline(decided) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (date(2026, 1, 31), date(2026, 3, 2)),  # 28 Feb 2026 is a Saturday
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 4, 1), date(2026, 5, 4)),  # 1 May is a holiday, then a weekend
        (date(2026, 3, 3), date(2026, 4, 7)),  # 3 April Langfredag, 6 April 2. påskedag
    ],
)
def test_preliminary_reply_due_a_month_after_receipt(received: date, expected: date) -> None:
    assert deadlines.preliminary_reply_due(received) == expected


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(min_value=1, max_value=200),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), max_size=3),
)
def test_deadlines_land_on_working_days_and_never_early(
    start: date, days: int, raw_pauses: list[tuple[int, int]]
) -> None:
    pauses = [
        Pause(start + timedelta(days=a), start + timedelta(days=a + n)) for a, n in raw_pauses
    ]
    due = deadlines.deadline(start, days, pauses)
    assert due is not None
    assert deadlines.is_working_day(due)
    earliest = start + timedelta(days=days + sum(n for _, n in raw_pauses))
    assert earliest <= due <= earliest + timedelta(days=6)


@pytest.mark.parametrize(
    ("start", "winter", "due"),
    [
        (date(2026, 3, 2), None, date(2026, 6, 22)),  # 16 weeks (matrikkelforskriften § 18)
        (date(2026, 9, 1), ("11-01", "04-30"), date(2027, 6, 21)),  # the winter does not count
        (date(2026, 12, 1), ("11-01", "04-30"), date(2027, 8, 20)),  # starts inside it
        (date(2026, 6, 1), ("11-01", "04-30"), date(2026, 9, 21)),  # ends before it
    ],
)
def test_the_survey_clock_stands_in_the_municipalitys_winter(
    start: date, winter: tuple[str, str] | None, due: date
) -> None:
    assert deadlines.survey_deadline(start, 112, winter) == due


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_the_same_day_clock_is_the_day_itself_weekend_and_holiday_alike(start: date) -> None:
    """Nødhjelp (sosialtjenesteloven § 18): no roll-over to a working day."""
    assert deadlines.deadline(start, deadlines.SAME_DAY) == start
