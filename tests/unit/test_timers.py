"""The clocks and activities of the process definition, as pure functions of events."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.activities import NOT_STEPS, activity, step_labels
from domain.lifecycle import OSLO
from domain.timers import TIMERS, clocks_run_out
from schemas.mapping import PUBLIC_EVENT_NAMES

T0 = datetime(2026, 3, 2, 9, tzinfo=OSLO)
DAY = timedelta(days=1)


def test_every_public_event_is_a_step_or_named_as_none() -> None:
    samples = {"objection": False, "by": "deciding-body", "result": "upheld"}
    for name in PUBLIC_EVENT_NAMES:
        found = activity(name, samples)
        assert (found is None) is (name in NOT_STEPS), name
        if found is not None:
            assert found.label in step_labels(), found.label


def test_the_appeal_bodys_answers_and_the_dismissals_are_steps_of_their_own() -> None:
    assert activity("AppealDecided", {"result": "repealed"}).label == (  # type: ignore[union-attr]
        "Klageinstansen opphever vedtaket"
    )
    by_body = activity("AppealDismissed", {"by": "appeal-body"})
    assert by_body is not None and by_body.actor.value == "klageinstans"
    objection = activity("NeighbourCommentReceived", {"objection": True})
    assert objection is not None and objection.label == "Innvending fra nabo"


def test_the_klagefrist_runs_out_before_a_later_step_not_before_an_earlier_one() -> None:
    decided = ("DecisionMade", {"appeal_deadline": date(2026, 3, 23)}, T0)
    shred_late = ("ApplicationShredded", {}, T0 + 30 * DAY)
    shred_early = ("ApplicationShredded", {}, T0 + 5 * DAY)
    ((index, ran_out),) = clocks_run_out([decided, shred_late])
    assert index == 1 and ran_out.timer.name == "appeal"
    assert ran_out.at == datetime(2026, 3, 24, tzinfo=OSLO)  # the last day over
    assert clocks_run_out([decided, shred_early]) == []


def test_an_appeal_stops_the_klagefrist_and_a_dismissal_starts_one_again() -> None:
    events = [
        ("DecisionMade", {"appeal_deadline": date(2026, 3, 23)}, T0),
        ("AppealReceived", {}, T0 + 10 * DAY),
        ("AppealDismissed", {"appeal_deadline": date(2026, 4, 15)}, T0 + 12 * DAY),
        ("ApplicationShredded", {}, T0 + 90 * DAY),
    ]
    ((index, ran_out),) = clocks_run_out(events)
    assert index == 3 and ran_out.at.date() == date(2026, 4, 16)


def test_an_objection_clears_the_grant_by_law() -> None:
    submitted = ("ApplicationSubmitted", {"deemed_granted_on": date(2026, 3, 24)}, T0)
    objected = ("NeighbourCommentReceived", {"deemed_granted_on": None}, T0 + DAY)
    granted = ("PermitDeemedGranted", {}, T0 + 23 * DAY)
    ((at_index, ran_out),) = clocks_run_out([submitted, granted])
    assert at_index == 1
    assert ran_out.timer.label_nb == "Tre uker uten vedtak"
    assert ran_out.at == datetime(2026, 3, 24, tzinfo=OSLO)  # as that day begins
    assert clocks_run_out([submitted, objected, granted]) == []


def test_unlogged_clocks_never_show_in_the_log() -> None:
    events = [
        ("ApplicationSubmitted", {"preliminary_reply_due": date(2026, 4, 2)}, T0),
        ("DecisionMade", {"appeal_deadline": None}, T0 + 60 * DAY),
    ]
    assert clocks_run_out(events) == []
    assert {t.name for t in TIMERS if not t.logged} == {"preliminary-reply", "survey"}
