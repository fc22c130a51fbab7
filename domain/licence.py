"""Skjenkebevilling: the licence period (alkoholloven § 1-6) and serving hours (§ 4-4).

- An alminnelig bevilling runs at most four years and ends no later than 30 September the year
  after a new kommunestyre takes office (§ 1-6 første ledd). Kommunestyrevalg are held every
  four years (2023, 2027, ...) and the new kommunestyre takes office that autumn, so a licence
  granted on 1 March 2026 ends by 30 September 2028.
- A bevilling for en enkelt anledning (§ 1-6 fjerde ledd) is for one named occasion: its period
  is given, and short. An ambulerende bevilling (§ 4-5) is for a closed party, each time.
- Serving hours: each alcohol group asked for is served within the municipality's hours, which
  lie inside § 4-4's outer limits (``domain.local_rules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any

from domain import deadlines
from domain.local_rules import SERVING_LAW, minutes

PERIOD_LAW = "alkoholloven § 1-6"
ELECTION_YEAR = 2023  # kommunestyrevalg: every fourth year from this one
YEARS_AT_MOST = 4
SINGLE_OCCASION_DAYS_AT_MOST = 14  # practice bound for «en enkelt anledning» (municipal)
STARTS_WITHIN = timedelta(days=730)  # a licence asked for more than two years ahead is refused


def period_ends_by(start: date) -> date:
    """The last day an alminnelig bevilling starting on ``start`` may run (§ 1-6)."""
    election = ELECTION_YEAR
    while date(election + 1, 9, 30) < start:
        election += 4
    four_years = deadlines.add_months(start, 12 * YEARS_AT_MOST) - timedelta(days=1)
    return min(date(election + 1, 9, 30), four_years)


def period_problem(form: Mapping[str, Any], today: date) -> str | None:
    """Why the period asked for cannot be granted, or None."""
    kind = form.get("bevillingstype", "alminnelig")
    start = date.fromisoformat(str(form.get("gyldig_fra") or today))
    if not today <= start <= today + STARTS_WITHIN:
        return f"a licence starts between today and {STARTS_WITHIN.days} days ahead, not {start}"
    end = form.get("gyldig_til")
    if kind == "alminnelig":
        if end is not None and date.fromisoformat(str(end)) > period_ends_by(start):
            return (
                f"an alminnelig bevilling from {start} ends by {period_ends_by(start)} at the "
                f"latest: four years, and 30 September the year after a new kommunestyre takes "
                f"office ({PERIOD_LAW})"
            )
        return None
    if end is None:
        return f"a bevilling {kind} names its period: gyldig_fra and gyldig_til ({PERIOD_LAW})"
    if (date.fromisoformat(str(end)) - start).days + 1 > SINGLE_OCCASION_DAYS_AT_MOST:
        return (
            f"a bevilling {kind} is for one occasion: at most {SINGLE_OCCASION_DAYS_AT_MOST} "
            f"days ({PERIOD_LAW} fjerde ledd, § 4-5)"
        )
    return None


def hours_problem(form: Mapping[str, Any], hours: Mapping[int, tuple[time, time]]) -> str | None:
    """Why the serving hours asked for go beyond what the municipality allows, or None."""
    start, end = (time.fromisoformat(str(form[k])) for k in ("skjenketid_fra", "skjenketid_til"))
    for group in sorted(form.get("alkoholgrupper", [])):
        earliest, latest = hours[int(group)]
        if minutes(start) < minutes(earliest) or minutes(end) > minutes(latest):
            return (
                f"group {group} may be served from {earliest:%H:%M} to {latest:%H:%M} here "
                f"({SERVING_LAW} and the municipality's rules), not {start:%H:%M} to {end:%H:%M}"
            )
    return None
