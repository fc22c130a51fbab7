"""The clocks of a case, as pure functions of dates.

Every clock counts calendar days. A deadline that ends on a Saturday, Sunday or Norwegian public
holiday moves to the next working day (domstolloven § 149, applied by analogy to administrative
time limits) — except emergency help (nødhjelp), assessed the same day, weekend or not. Days while a
case waits for documents from the applicant do not count toward the decision deadline.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import holidays

from domain.lifecycle import local_date

NEIGHBOUR_COMMENT_DAYS = 14  # pbl § 21-3: two weeks to comment on a nabovarsel
APPEAL_DAYS = 21  # fvl § 29: three weeks to appeal (klagefrist)
PRELIMINARY_REPLY_MONTHS = 1  # fvl § 11 a: foreløpig svar within a month
PROMISE_AT_MOST = timedelta(days=366)  # a preliminary reply promises a decision within a year
SAME_DAY = (
    0  # a clock of no days: decided the day the case came (sosialtjenesteloven § 18, nødhjelp)
)
RESPOND_DAYS = 14  # a mangelbrev asks for the documents within two weeks (practice, not statute)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch when the decision clock stood still; ``end`` is None while it still stands."""

    start: date
    end: date | None = None

    @property
    def days(self) -> int:
        if self.end is None:
            raise ValueError("an open pause has no length yet")
        return (self.end - self.start).days


@cache
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def next_working_day(day: date) -> date:
    """The day itself if it is a working day, otherwise the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def last_working_day_before(start: date) -> date:
    """The last working day before ``start``: a notice of work (gravemelding) is answered by
    then, whatever else happens to the case."""
    day = start - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def survey_deadline(start: date, days: int, winter: tuple[str, str] | None = None) -> date:
    """``days`` after ``start`` not counting days inside the municipality's winter period
    (``("11-01", "04-30")``, which may span the new year), on a working day."""
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if winter is None or not _in_winter(day, winter):
            counted += 1
    return next_working_day(day)


def _in_winter(day: date, winter: tuple[str, str]) -> bool:
    month_day = day.strftime("%m-%d")
    first, last = winter
    if first <= last:
        return first <= month_day <= last
    return month_day >= first or month_day <= last  # across the new year


def add_months(day: date, months: int) -> date:
    """Same day-of-month ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def deadline(
    start: date, days: int, pauses: Iterable[Pause] = (), paused_days: int = 0
) -> date | None:
    """``days`` calendar days after ``start``, lengthened by closed pauses, on a working day.

    None while a pause is still open: the clock stands, so there is no deadline to meet.
    ``paused_days`` counts pauses already summed (the read models keep only the sum).
    """
    pauses = list(pauses)
    if any(p.end is None for p in pauses):
        return None
    paused = paused_days + sum(p.days for p in pauses)
    if days == SAME_DAY:  # nødhjelp: that very day, calendar days, never moved to a working day
        return start + timedelta(days=paused)
    return next_working_day(start + timedelta(days=days + paused))


def decision_deadline(
    complete_since: date,
    decision_days: int | None,
    pauses: Iterable[Pause] = (),
    paused_days: int = 0,
) -> date | None:
    """When the decision is due; None where the service has no decision clock or it is paused.

    The one home of this rule: the aggregate, the public ``decision_due`` and the read models
    all ask here.
    """
    if decision_days is None:
        return None
    return deadline(complete_since, decision_days, pauses, paused_days)


def decision_due_when_stored_without(submitted_at: datetime, days: int | None) -> date | None:
    """The due date of an application stored before the domain recorded it (events before v5):
    from the submission day, as the rule was then; None where the stored time cannot give one."""
    try:
        return decision_deadline(local_date(submitted_at), days)
    except (OverflowError, ValueError):  # a time stored before times were bounded (domain.timing)
        return None


def preliminary_reply_due(received: date) -> date:
    """fvl § 11 a: a preliminary reply is due a month after receipt if no decision by then."""
    return next_working_day(add_months(received, PRELIMINARY_REPLY_MONTHS))


def draft_untouched_since(now: datetime, after_days: int) -> datetime:
    """A draft last saved before this moment has been left alone long enough to expire
    (GDPR art. 5 (1) e; the days are the municipality's setting)."""
    return now - timedelta(days=after_days)


def documents_respond_by(requested: date) -> date:
    """The day a mangelbrev asks the missing documents for (fvl § 17; the two weeks are
    practice), moved to a working day."""
    return next_working_day(requested + timedelta(days=RESPOND_DAYS))


def neighbour_comment_deadline(notice_sent: date) -> date:
    """pbl § 21-3: neighbours have two weeks from the notice to comment."""
    return next_working_day(notice_sent + timedelta(days=NEIGHBOUR_COMMENT_DAYS))


def appeal_deadline(decision_received: date, days: int = APPEAL_DAYS) -> date:
    """fvl § 29: three weeks from the decision reaching the party (``days``: a special law's
    period, e.g. four weeks under pasient- og brukerrettighetsloven § 7-5)."""
    return next_working_day(decision_received + timedelta(days=days))
