"""The klage track as forvaltningsloven has it: repealed goes back for a new decision, changed
takes the appeal body's outcome, dismissals with their own klagefrist or final, the sent date
(fvl § 30), the one-year limit (fvl § 31) and the appeal body the catalogue names."""

from __future__ import annotations

from datetime import date

import pytest

from domain.appeal import AppealStage, DismissalGround
from domain.application import Application
from domain.errors import InvalidTransition
from domain.lifecycle import AppealResult, Outcome, Status
from domain.values import Decision
from tests.builders import DAY, REASONS, T0, decided, service

# decided 7 March 2026; the klagefrist (fvl § 29) runs to Saturday 28 March, so Monday 30 March
SVC = "sosialhjelp"
CHANGED = Decision(Outcome.GRANTED, "sosialtjenesteloven § 18", "Statsforvalteren")


def forwarded(code: str = SVC) -> Application:
    case = decided(code, T0)
    case.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service(code))
    case.review_appeal(None, None, T0 + 20 * DAY, service(code))
    return case


def refused_code(step: object) -> str:
    with pytest.raises(InvalidTransition) as refused:
        step()  # type: ignore[operator]
    return refused.value.code


def test_repealed_goes_back_for_a_new_decision_on_a_new_clock() -> None:
    """fvl § 34: opphevet — the municipality decides again; the earlier decision is superseded,
    nothing is final, and the case may not be archived or shredded in the meantime."""
    case = forwarded()
    first = case.decision
    case.record_appeal_result(AppealResult.REPEALED, T0 + 60 * DAY, service(SVC))  # 1 May
    assert case.status is Status.SUBMITTED and not case.final
    assert case.decision is None and case.superseded == (first,)
    assert case.decision_deadline == date(2026, 5, 22)  # 21 days from 1 May, a Friday
    assert case.preliminary_reply_due == date(2026, 6, 1)  # a month on; a Monday
    assert case.appeal_status == "repealed"
    assert refused_code(lambda: case.shred(T0 + 60 * DAY, service(SVC), "x")) == (
        "not-allowed-in-status"
    )
    events = case.collect_events()
    assert events[-1].decision_due == date(2026, 5, 22)  # type: ignore[attr-defined]
    refused = Decision(Outcome.REFUSED, "sosialtjenesteloven § 18", "saksbehandler", **REASONS)
    case.decide(refused, T0 + 70 * DAY, service(SVC))
    assert case.status is Status.DECIDED and case.decision
    assert case.decision["outcome"] == "refused"
    case.receive_appeal(date(2026, 5, 15), T0 + 74 * DAY, service(SVC))  # the new one: appealable
    assert case.status is Status.APPEALED and case.appeal_status == "received"


def test_changed_makes_the_appeal_bodys_outcome_the_cases_and_is_final() -> None:
    case = forwarded()
    case.decision = {**(case.decision or {}), "outcome": "refused"}  # as if refused first
    case.record_appeal_result(AppealResult.REVERSED, T0 + 60 * DAY, service(SVC), CHANGED)
    assert case.status is Status.DECIDED and case.final
    assert case.decision and case.decision["outcome"] == "granted"
    assert case.decision["legal_basis"] == "sosialtjenesteloven § 18"
    assert refused_code(
        lambda: case.receive_appeal(date(2026, 5, 2), T0 + 61 * DAY, service(SVC))
    ) == ("appeal-decided")


@pytest.mark.parametrize(
    ("result", "decision"),
    [
        (AppealResult.REVERSED, None),
        (AppealResult.UPHELD, CHANGED),
        (AppealResult.REPEALED, CHANGED),
    ],
)
def test_only_a_change_carries_the_appeal_bodys_decision(
    result: AppealResult, decision: Decision | None
) -> None:
    case = forwarded()
    step = lambda: case.record_appeal_result(result, T0 + 60 * DAY, service(SVC), decision)  # noqa: E731
    assert refused_code(step) == "appeal-result-decision"


def test_upheld_is_final_and_closable_the_next_day() -> None:
    case = forwarded()
    case.record_appeal_result(AppealResult.UPHELD, T0 + 60 * DAY, service(SVC))
    assert case.final and case.appeal_deadline == date(2026, 5, 1)


def test_an_appeal_posted_in_time_is_in_time_though_it_arrives_late() -> None:
    """fvl § 30: sent on the last day, arrived two days after."""
    case = decided(SVC, T0)
    case.receive_appeal(date(2026, 4, 1), T0 + 30 * DAY, service(SVC), sent_on=date(2026, 3, 30))
    assert case.appeal and case.appeal["timely"] is True
    late = decided(SVC, T0)
    late.receive_appeal(date(2026, 4, 1), T0 + 30 * DAY, service(SVC))
    assert late.appeal and late.appeal["timely"] is False


def test_a_sent_date_must_lie_between_the_decision_and_the_arrival() -> None:
    case = decided(SVC, T0)
    step = lambda: case.receive_appeal(  # noqa: E731
        date(2026, 4, 1), T0 + 30 * DAY, service(SVC), sent_on=date(2026, 4, 2)
    )
    assert refused_code(step) == "appeal-sent-date-out-of-range"


def test_a_late_appeal_is_dismissed_by_the_deciding_body_with_a_new_klagefrist() -> None:
    """fvl § 33: the dismissal is itself a decision (fvl § 2 third para.): it may be appealed."""
    case = decided(SVC, T0)
    case.receive_appeal(date(2026, 4, 6), T0 + 35 * DAY, service(SVC))
    case.dismiss_appeal(
        DismissalGround.LATE, AppealStage.DECIDING_BODY, T0 + 37 * DAY, service(SVC)
    )
    assert case.status is Status.DECIDED and not case.final
    assert case.appeal_status == "dismissed"
    assert case.appeal_deadline == date(2026, 4, 29)  # three weeks from 8 April
    (event,) = [e for e in case.collect_events() if type(e).__name__ == "AppealDismissed"]
    assert (event.ground, event.by) == ("late", "deciding-body")  # type: ignore[attr-defined]


def test_a_timely_appeal_is_not_dismissed_as_late() -> None:
    case = decided(SVC, T0)
    case.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service(SVC))
    step = lambda: case.dismiss_appeal(  # noqa: E731
        DismissalGround.LATE, AppealStage.DECIDING_BODY, T0 + 19 * DAY, service(SVC)
    )
    assert refused_code(step) == "appeal-in-time"


def test_a_dismissal_by_the_appeal_body_is_final() -> None:
    case = forwarded()
    case.dismiss_appeal(
        DismissalGround.DEFECT, AppealStage.APPEAL_BODY, T0 + 50 * DAY, service(SVC)
    )
    assert case.final and case.status is Status.DECIDED
    not_here = decided(SVC, T0)
    not_here.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service(SVC))
    step = lambda: not_here.dismiss_appeal(  # noqa: E731
        DismissalGround.DEFECT, AppealStage.APPEAL_BODY, T0 + 19 * DAY, service(SVC)
    )
    assert refused_code(step) == "appeal-not-here"


def test_an_appeal_sent_more_than_a_year_after_the_decision_is_only_dismissed() -> None:
    """fvl § 31 third para.: never taken up, whatever the reason."""
    case = decided(SVC, T0)
    case.receive_appeal(date(2027, 3, 9), T0 + 372 * DAY, service(SVC))
    assert case.appeal and case.appeal["within_a_year"] is False
    forward = lambda: case.review_appeal(None, None, T0 + 373 * DAY, service(SVC))  # noqa: E731
    assert refused_code(forward) == "appeal-must-be-dismissed"
    case.dismiss_appeal(
        DismissalGround.OVER_A_YEAR, AppealStage.DECIDING_BODY, T0 + 373 * DAY, service(SVC)
    )
    assert case.appeal_status == "dismissed"


def test_an_appeal_from_someone_who_is_no_party_is_only_dismissed() -> None:
    case = decided(SVC, T0)
    case.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service(SVC), party=False)
    reverse = lambda: case.review_appeal(CHANGED, None, T0 + 19 * DAY, service(SVC))  # noqa: E731
    assert refused_code(reverse) == "appeal-must-be-dismissed"
    case.dismiss_appeal(
        DismissalGround.NO_STANDING, AppealStage.DECIDING_BODY, T0 + 19 * DAY, service(SVC)
    )
    assert case.status is Status.DECIDED


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("pleie-omsorg", "Statsforvalteren"),  # pbrl § 7-2
        ("ledsagerbevis", "kommunal klagenemnd"),  # fvl § 28 annet ledd
        ("melding-om-tiltak", "Statsforvalteren"),  # pbl § 1-9
    ],
)
def test_an_appeal_goes_to_the_appeal_body_the_law_names_and_no_other(code: str, body: str) -> None:
    case = decided(code, T0)
    case.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service(code))
    other = "Statsforvalteren" if body != "Statsforvalteren" else "Kommunal klagenemnd"
    step = lambda: case.review_appeal(None, other, T0 + 19 * DAY, service(code))  # noqa: E731
    assert refused_code(step) == "appeal-body-not-competent"
    case.review_appeal(None, body.upper(), T0 + 19 * DAY, service(code))
    assert case.appeal and case.appeal["forwarded_to"] == body
    assert service(code).appeal_body == body


def test_every_deciding_service_names_its_appeal_body_and_the_law() -> None:
    from domain.services import default_services

    for code, svc in default_services().items():
        if svc.individual_decision:
            assert svc.appeal_body and svc.appeal_body_law, code
        else:
            assert svc.appeal_body is None, code
