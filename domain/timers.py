"""The clocks of the process as the definition names them: what each is, its law, which events set
its end (the date the domain recorded in them), which events stop it, and whether the event log
reports it running out. The published BPMN draws each as a timer event; the event log puts a
clock that ran out before the case's next step in the trace, as the timer's own event.

A clock's end is a date the domain recorded: ``day-after`` clocks (a klagefrist, a comment period)
run out when that last day is over; an ``on-day`` clock (the grant by law) runs out as that day
begins. Nothing here computes a deadline: it only reads the ones the events carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from domain.lifecycle import OSLO
from domain.process import Applies


@dataclass(frozen=True)
class Timer:
    name: str
    label_nb: str  # the timer event's name in the BPMN, and the activity in the event log
    law: str
    applies: Applies
    set_by: Mapping[str, str]  # public event -> the field holding the clock's end (null clears)
    stopped_by: frozenset[str]  # public events after which the clock no longer runs
    logged: bool  # the event log reports it running out (else the BPMN only shows it)
    on_day: bool = False  # runs out as the recorded day begins (else when it is over)


TIMERS: tuple[Timer, ...] = (
    Timer(
        "neighbour-comments",
        "Nabofristen er ute",
        "pbl § 21-3",
        Applies.NEIGHBOUR_NOTICE,
        {"NeighbourNoticeSent": "comment_deadline"},
        frozenset({"ApplicationSubmitted", "ApplicationWithdrawn"}),
        logged=True,
    ),
    Timer(
        "deemed-grant",
        "Tre uker uten vedtak",
        "pbl § 21-7 tredje ledd",
        Applies.DEEMED,
        {
            "ApplicationSubmitted": "deemed_granted_on",
            "ProcessingResumed": "deemed_granted_on",
            "NeighbourCommentReceived": "deemed_granted_on",
        },
        frozenset(
            {"DecisionMade", "ApplicationWithdrawn", "MissingDocumentsRequested", "AppealDecided"}
        ),
        logged=True,
        on_day=True,
    ),
    Timer(
        "preliminary-reply",
        "Én måned uten vedtak",
        "fvl § 11 a",
        Applies.DECIDED,
        {"ApplicationSubmitted": "preliminary_reply_due"},
        frozenset({"PreliminaryReplySent", "DecisionMade", "PermitDeemedGranted"}),
        logged=False,
    ),
    Timer(
        "appeal",
        "Klagefristen er ute",
        "fvl § 29",
        Applies.DECIDED,
        {
            "DecisionMade": "appeal_deadline",
            "DecisionDelivered": "appeal_deadline",
            "PermitDeemedGranted": "appeal_deadline",
            "AppealDismissed": "appeal_deadline",
        },
        frozenset({"AppealReceived", "AppealDecided"}),
        logged=True,
    ),
    Timer(
        "survey",
        "Fristen for oppmåling",
        "matrikkelforskriften § 18",
        Applies.SURVEYED,
        {"SurveyClockStarted": "survey_due"},
        frozenset({"SurveyCompleted"}),
        logged=False,
    ),
)


@dataclass(frozen=True)
class RanOut:
    timer: Timer
    at: datetime  # the moment it ran out (local midnight)


def ran_out_at(timer: Timer, end: date) -> datetime:
    day = end if timer.on_day else end + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=OSLO)


def clocks_run_out(
    events: Iterable[tuple[str, Mapping[str, Any], datetime]],
) -> list[tuple[int, RanOut]]:
    """For one case's events in order (name, record, when): the logged clocks that ran out before
    an event, as (index of that event, what ran out), in order. A clock that runs out after the
    last event is not reported: the case has not yet shown what came of it."""
    running: dict[str, datetime] = {}
    found: list[tuple[int, RanOut]] = []
    for index, (name, record, at) in enumerate(events):
        for timer in TIMERS:
            end = running.get(timer.name)
            if end is not None and end <= at:
                if timer.logged:
                    found.append((index, RanOut(timer, end)))
                del running[timer.name]
        for timer in TIMERS:
            if name in timer.stopped_by:
                running.pop(timer.name, None)
            if name in timer.set_by:
                value = record.get(timer.set_by[name])
                if value is None:
                    running.pop(timer.name, None)
                else:
                    running[timer.name] = ran_out_at(timer, value)
    found.sort(key=lambda item: (item[0], item[1].at))
    return found
