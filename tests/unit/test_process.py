"""The process table (``domain.process``) is the aggregate's own rule: every step it lists leads
where it says, and a changed entry changes what the aggregate allows."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from domain import (
    appeal,
    application,
    closing,
    consultations,
    decision,
    documents,
    guards,
    neighbours,
    process,
    submission,
)
from domain.appeal import AppealStage, DismissalGround
from domain.application import Application
from domain.errors import InvalidTransition
from domain.lifecycle import AppealResult, Outcome, Status, local_date
from domain.process import Step
from domain.values import Decision
from tests.builders import DAY, T0, attach, awaiting, decided, prepared, service, submit, submitted
from tests.builders import withdrawn as withdrawn_case

LATER = T0 + timedelta(days=400)  # every appeal period over
VEDTAK = Decision(Outcome.GRANTED, "lov § 1", "saksbehandler")


def _code(step: Step) -> str:
    if step.applies is process.Applies.REGISTERED:
        return "horingssvar"
    if step.applies is process.Applies.DEEMED:
        return "melding-om-tiltak"
    return "sosialhjelp"


def _in(status: Status, code: str) -> Application:
    if status is Status.DRAFT:
        return prepared(code, T0)
    if status is Status.SUBMITTED:
        return submitted(code, T0)
    if status is Status.AWAITING_DOCUMENTS:
        return awaiting(T0)
    if status is Status.WITHDRAWN:
        return withdrawn_case(T0)
    case = decided(code, T0)
    if status is Status.APPEALED:
        case.receive_appeal(local_date(T0 + 6 * DAY), T0 + 6 * DAY, service(code))
    return case


TAKE: dict[tuple[str, str], Callable[[Application], None]] = {
    ("submit", "Sende inn"): lambda c: submit(c, T0),
    ("expire draft", "Utløpt utkast slettes"): lambda c: c.expire_draft(30, T0 + 31 * DAY),
    ("withdraw", "Trekke søknaden"): lambda c: c.withdraw("trenger ikke", T0 + DAY),
    ("add attachment", "Ettersende det som manglet"): lambda c: attach(c, "lonnsslipp", T0 + DAY),
    ("request missing documents", "Be om manglende dokumenter"): lambda c: (
        c.request_missing_documents(["lonnsslipp"], "mangler", T0 + DAY, service(c.service))
    ),
    ("resume processing", "Behandle videre"): lambda c: c.resume_processing(
        T0 + DAY, service(c.service)
    ),
    ("deem permit granted", "Tillatelse regnes som gitt"): lambda c: c.deem_granted(
        T0 + 30 * DAY, service(c.service)
    ),
    ("decide", "Fatte vedtak"): lambda c: c.decide(VEDTAK, T0 + DAY, service(c.service)),
    ("receive appeal", "Motta klage"): lambda c: c.receive_appeal(
        local_date(T0 + 6 * DAY), T0 + 6 * DAY, service(c.service)
    ),
    ("review appeal", "Omgjøre vedtaket"): lambda c: c.review_appeal(
        VEDTAK, "", T0 + 7 * DAY, service(c.service)
    ),
    ("record appeal result", "Klageinstansen stadfester vedtaket"): lambda c: (
        c.review_appeal(None, None, T0 + 7 * DAY, service(c.service)),
        c.record_appeal_result(AppealResult.UPHELD, T0 + 8 * DAY, service(c.service)),
    ),
    ("record appeal result", "Klageinstansen endrer vedtaket"): lambda c: (
        c.review_appeal(None, None, T0 + 7 * DAY, service(c.service)),
        c.record_appeal_result(AppealResult.REVERSED, T0 + 8 * DAY, service(c.service), VEDTAK),
    ),
    ("record appeal result", "Klageinstansen opphever vedtaket"): lambda c: (
        c.review_appeal(None, None, T0 + 7 * DAY, service(c.service)),
        c.record_appeal_result(AppealResult.REPEALED, T0 + 8 * DAY, service(c.service)),
    ),
    ("dismiss appeal", "Avvise klagen"): lambda c: c.dismiss_appeal(
        DismissalGround.DEFECT, AppealStage.DECIDING_BODY, T0 + 7 * DAY, service(c.service)
    ),
    ("dismiss appeal", "Klageinstansen avviser klagen"): lambda c: (
        c.review_appeal(None, None, T0 + 7 * DAY, service(c.service)),
        c.dismiss_appeal(
            DismissalGround.NO_STANDING, AppealStage.APPEAL_BODY, T0 + 8 * DAY, service(c.service)
        ),
    ),
    ("archive", "Arkivere"): lambda c: c.archive("A-1", LATER, service(c.service), "test"),
    ("shred", "Kassere"): lambda c: c.shred(LATER, service(c.service), "test"),
}
MOVES = [
    pytest.param(step, source, id=f"{step.name}: {source} -> {step.target}")
    for step in process.STEPS
    if step.target is not None
    for source in step.sources
]


@pytest.mark.parametrize(("step", "source"), MOVES)
def test_each_step_of_the_table_leads_where_the_table_says(step: Step, source: Status) -> None:
    case = _in(source, _code(step))
    assert case.status is source
    TAKE[step.name, step.label_nb](case)
    assert case.status is step.target


def test_a_changed_entry_changes_what_the_aggregate_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Taking withdrawal away from submitted cases: the aggregate refuses it at once."""
    case = submitted("avfallsbeholder", T0)
    steps = [
        s if s.name != "withdraw" else Step(s.name, s.label_nb, s.actor, (Status.DRAFT,), s.target)
        for s in process.STEPS
    ]
    monkeypatch.setattr(process, "STEPS", tuple(steps))
    with pytest.raises(InvalidTransition, match="only allowed while the case is draft"):
        case.withdraw("trenger ikke", T0 + DAY)


@pytest.mark.parametrize(
    ("code", "absent", "present"),
    [
        ("horingssvar", {Status.DECIDED, Status.APPEALED}, {Status.ARCHIVED}),
        ("melding-om-tiltak", set(), {Status.APPEALED}),
    ],
)
def test_a_service_reaches_only_the_statuses_its_steps_lead_to(
    code: str, absent: set[Status], present: set[Status]
) -> None:
    """A høringssvar is no individual decision (fvl § 2): never decided, never appealed."""
    reached = set(process.reachable(process.steps_for(service(code))))
    assert not reached & absent and present <= reached


def test_every_step_the_aggregate_guards_is_in_the_table() -> None:
    """A guard asking for a step the table lacks would allow nothing; this keeps names in step."""
    units = (application, guards, submission, documents, neighbours, consultations, decision)
    source = "".join(inspect.getsource(unit) for unit in (*units, appeal, closing))
    guarded = set(re.findall(r'_guard\w*\(\s*"([a-z ]+)"', source))
    guarded |= set(re.findall(r'step = "([a-z ]+)"', source))
    assert len(guarded) > 15 and guarded <= {s.name for s in process.STEPS}, guarded
