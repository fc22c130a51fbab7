"""Municipal settings with bounds: each is checked when the catalogue loads, so a wrong value
stops the start with a clear error instead of a crash in a case months later.

- ``survey_winter_pause`` (kartforretning): the winter period in which the 16-week survey clock
  stands (matrikkelforskriften § 18), at most ``WINTER_AT_MOST`` days.
- ``permit_valid_years`` (ledsagerbevis, parkering): how long a permit runs by default, 1 to
  ``PERMIT_YEARS_AT_MOST`` years; a vedtak may give a shorter period, never a longer one.
- ``serving_hours`` (skjenkebevilling): the municipality's latest serving hours per alcohol
  group, inside the outer limits of alkoholloven § 4-4 (``SERVING_LAW``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

WINTER_AT_MOST = 200  # days: 1 November to 15 May is 197, with a little to spare
PERMIT_YEARS_AT_MOST = 10
# alkoholloven § 4-4 annet ledd: the municipality may allow serving from 06:00 (groups 1 and 2)
# and 13:00 (group 3), and never after 03:00; første ledd: unless it decides otherwise,
# 08:00-01:00 (groups 1 and 2) and 13:00-24:00 (group 3)
SERVING_LAW = "alkoholloven § 4-4"
SERVING_OUTER = {1: (time(6), time(3)), 2: (time(6), time(3)), 3: (time(13), time(3))}
SERVING_NORMAL = {1: (time(8), time(1)), 2: (time(8), time(1)), 3: (time(13), time(0))}
DAY_STARTS = time(6)  # a serving day runs 06:00 to 06:00: 01:00 is late, not early


def winter(code: str, survey_days: int | None, value: Any) -> tuple[str, str]:
    """A municipality's winter period for the survey clock: ["11-01", "04-30"] (MM-DD)."""
    where = f"municipal override of {code}: survey_winter_pause"
    if survey_days is None:
        raise ValueError(f"{where}: {code} has no survey clock")
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f'{where} must be two dates, e.g. ["11-01", "04-30"]')
    days = []
    for day in value:
        try:
            days.append(date.fromisoformat(f"2024-{day}"))  # a leap year: 02-29 is a day
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {day!r} is not a MM-DD date") from None
    first, last = days
    length = (last - first).days + 1 if last >= first else (last - first).days + 367
    if length > WINTER_AT_MOST:
        raise ValueError(
            f"{where} is {length} days; at most {WINTER_AT_MOST} (local winter rules run about "
            "1 November to 15 May): a longer one would stop the survey clock for good"
        )
    return str(value[0]), str(value[1])


def permit_years(code: str, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{code}: permit_valid_years must be a whole number of years")
    if not 1 <= value <= PERMIT_YEARS_AT_MOST:
        raise ValueError(f"{code}: permit_valid_years must be 1 to {PERMIT_YEARS_AT_MOST}")
    return value


def minutes(at: time) -> int:
    """Minutes into the serving day (06:00 is 0, 03:00 the next night is 1260)."""
    return (at.hour * 60 + at.minute - DAY_STARTS.hour * 60) % (24 * 60)


def serving_hours(code: str, value: Any) -> dict[int, tuple[time, time]] | None:
    """``{"1" = ["08:00", "01:00"], ...}``: per group the earliest and latest hour of serving,
    each inside alkoholloven § 4-4's outer limits."""
    if value is None:
        return None
    where = f"{code}: serving_hours"
    if not isinstance(value, Mapping) or {str(g) for g in SERVING_OUTER} != set(value):
        raise ValueError(f'{where} names groups "1", "2" and "3", each ["HH:MM", "HH:MM"]')
    hours: dict[int, tuple[time, time]] = {}
    for group, (earliest, latest) in SERVING_OUTER.items():
        span = value[str(group)]
        try:
            start, end = (time.fromisoformat(t) for t in span)
        except (TypeError, ValueError):
            raise ValueError(f'{where}: group {group} must be ["HH:MM", "HH:MM"]') from None
        if minutes(start) < minutes(earliest) or minutes(end) > minutes(latest):
            raise ValueError(
                f"{where}: group {group} from {start:%H:%M} to {end:%H:%M} is outside "
                f"{SERVING_LAW} ({earliest:%H:%M} to {latest:%H:%M} at most)"
            )
        if minutes(end) <= minutes(start):
            raise ValueError(f"{where}: group {group} ends before it starts")
        hours[group] = (start, end)
    return hours
