"""The Application aggregate: every refused step names the case, its state and the rule, and
changes nothing."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest

from domain.application import Application
from domain.errors import IncompleteForm, InvalidTransition
from domain.lifecycle import OSLO, Outcome, ReceiptChannel, Status
from domain.values import Attachment, Decision
from saksflyt.demo import synthetic
from tests.builders import attach, decided, draft, service, submitted

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=OSLO)
DAY = timedelta(days=1)
BUILD = "melding-om-tiltak"
STABLE_CODE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _notified(at: datetime) -> Application:
    case = submitted(BUILD, at)
    case.send_neighbour_notice(["0301-1/2", "0301-1/3"], at, service(BUILD))
    return case


def _awaiting(at: datetime) -> Application:
    case = submitted("sosialhjelp", at)
    case.request_missing_documents(["lonnsslipp"], "mangler lønnsslipp", at, service("sosialhjelp"))
    return case


def _withdrawn(at: datetime) -> Application:
    case = submitted("avfallsbeholder", at)
    case.withdraw("trenger ikke", at)
    return case


def _shredded(at: datetime) -> Application:
    case = _withdrawn(at)
    case.shred(at + DAY)
    return case


def _decide(case: Application, at: datetime) -> None:
    case.decide(Decision(Outcome.GRANTED, "lov § 1", "saksbehandler"), at, service(case.service))


Given = Callable[[datetime], Application]
When = Callable[[Application], None]

REFUSALS: list[tuple[str, Given, When, str]] = [
    (
        "submit without required attachments",
        lambda t: draft("ledsagerbevis", t),
        lambda c: c.submit({}, T0, service(c.service)),
        "form is not complete",
    ),
    (
        "submit twice",
        lambda t: submitted("avfallsbeholder", t),
        lambda c: c.submit({}, T0 + DAY, service(c.service)),
        "only allowed while the case is draft",
    ),
    (
        "event before the previous one",
        lambda t: submitted("avfallsbeholder", t),
        lambda c: c.withdraw("x", T0 - DAY),
        "is before the previous event",
    ),
    (
        "time without a zone",
        lambda t: submitted("avfallsbeholder", t),
        lambda c: c.withdraw("x", datetime(2026, 3, 3, 9)),
        "time zone",
    ),
    (
        "draft after submission",
        lambda t: submitted("avfallsbeholder", t),
        lambda c: c.save_draft({"adresse": "Storgata 2"}, T0 + DAY),
        "only allowed while the case is draft",
    ),
    (
        "attachment of a kind the service does not take",
        lambda t: draft("avfallsbeholder", t),
        lambda c: attach(c, "legeerklaering", T0),
        "takes no attachment of kind",
    ),
    (
        "empty attachment",
        lambda t: draft("ledsagerbevis", t),
        lambda c: c.add_attachment(
            Attachment(uuid4(), "foto", "image/jpeg", 0, "a" * 64, "x"), T0, service(c.service)
        ),
        "size above 0",
    ),
    (
        "attachment with a bad checksum",
        lambda t: draft("ledsagerbevis", t),
        lambda c: c.add_attachment(
            Attachment(uuid4(), "foto", "image/jpeg", 9, "xyz", "x"), T0, service(c.service)
        ),
        "sha256",
    ),
    (
        "decide a building case before notifying neighbours",
        lambda t: submitted(BUILD, t),
        lambda c: _decide(c, T0 + 30 * DAY),
        "neighbours must be notified first",
    ),
    (
        "decide while the comment period runs",
        _notified,
        lambda c: _decide(c, T0 + 5 * DAY),
        "neighbour comment period runs until 2026-03-16",
    ),
    (
        "decide on the last day of the comment period with one consent of two",
        lambda t: _with_consent(_notified(t), "0301-1/2"),
        lambda c: _decide(c, datetime(2026, 3, 16, 15, tzinfo=OSLO)),
        "not every neighbour has consented",
    ),
    (
        "notice for a service without neighbours",
        lambda t: submitted("sosialhjelp", t),
        lambda c: c.send_neighbour_notice(["0301-1/2"], T0, service(c.service)),
        "has no neighbour notice",
    ),
    (
        "second neighbour notice",
        _notified,
        lambda c: c.send_neighbour_notice(["0301-1/4"], T0, service(c.service)),
        "already notified",
    ),
    (
        "comment from someone not notified",
        _notified,
        lambda c: c.record_neighbour_comment("0301-9/9", True, T0),
        "was not notified",
    ),
    (
        "a neighbour answering twice",
        lambda t: _with_consent(_notified(t), "0301-1/2"),
        lambda c: c.record_neighbour_comment("0301-1/2", True, T0),
        "already answered",
    ),
    (
        "decide while waiting for documents",
        _awaiting,
        lambda c: _decide(c, T0 + DAY),
        "only allowed while the case is submitted",
    ),
    (
        "request documents of unknown kind",
        lambda t: submitted("sosialhjelp", t),
        lambda c: c.request_missing_documents(["foto"], "x", T0, service(c.service)),
        "takes no attachment",
    ),
    (
        "request no documents",
        lambda t: submitted("sosialhjelp", t),
        lambda c: c.request_missing_documents([], "x", T0, service(c.service)),
        "at least one",
    ),
    (
        "resume a case that is not waiting",
        lambda t: submitted("sosialhjelp", t),
        lambda c: c.resume_processing(T0),
        "only allowed while the case is awaiting-documents",
    ),
    (
        "second preliminary reply",
        lambda t: _with_reply(submitted("skjenkebevilling", t)),
        lambda c: c.send_preliminary_reply("x", date(2026, 6, 1), T0 + DAY),
        "already sent",
    ),
    (
        "preliminary reply expecting the past",
        lambda t: submitted("skjenkebevilling", t),
        lambda c: c.send_preliminary_reply("x", date(2026, 3, 1), T0),
        "later date",
    ),
    (
        "receipt before submission",
        lambda t: draft("avfallsbeholder", t),
        lambda c: c.send_receipt(ReceiptChannel.EMAIL, "m1", T0),
        "only allowed while",
    ),
    (
        "receipt without a return address",
        lambda t: _submitted_without_email(t),
        lambda c: c.send_receipt(ReceiptChannel.EMAIL, "m1", T0),
        "no return address",
    ),
    (
        "archive during the appeal period",
        lambda t: decided("avfallsbeholder", t),
        lambda c: c.archive("ARK-1", T0 + 10 * DAY),
        "appeal period (fvl § 29) runs until",
    ),
    (
        "shred an open case",
        lambda t: submitted("avfallsbeholder", t),
        lambda c: c.shred(T0 + 100 * DAY),
        "only allowed while the case is decided, withdrawn",
    ),
    (
        "withdraw after the decision",
        lambda t: decided("avfallsbeholder", t),
        lambda c: c.withdraw("x", T0 + 10 * DAY),
        "only allowed while",
    ),
    (
        "anything after shredding",
        _shredded,
        lambda c: c.archive("ARK-1", T0 + 5 * DAY),
        "shredded (kassert); nothing may follow",
    ),
    ("withdraw after shredding", _shredded, lambda c: c.withdraw("x", T0 + 5 * DAY), "shredded"),
]


def _submitted_without_email(at: datetime) -> Application:
    case = draft("horingssvar", at)
    form = {"sak_referanse": "2026/1", "avsender_navn": "Velforeningen", "merknad": "Nei takk."}
    case.submit(form, at, service("horingssvar"))
    return case


def _with_consent(case: Application, neighbour: str) -> Application:
    case.record_neighbour_consent(neighbour, T0)
    return case


def _with_reply(case: Application) -> Application:
    case.send_preliminary_reply("høring hos politiet", date(2026, 6, 1), T0)
    return case


@pytest.mark.parametrize(
    ("given", "when", "rule"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refused_steps_name_the_rule_and_change_nothing(
    given: Given, when: When, rule: str
) -> None:
    case = given(T0)
    before = copy.deepcopy(vars(case))
    with pytest.raises((InvalidTransition, IncompleteForm)) as refused:
        when(case)
    assert rule in str(refused.value)
    assert STABLE_CODE.fullmatch(refused.value.code), "logs and metrics carry a stable code"
    if isinstance(refused.value, InvalidTransition):
        assert str(case.id) in str(refused.value)
        assert refused.value.status == case.status.value
    assert vars(case) == before


def test_a_building_case_from_notice_to_archive() -> None:
    case = _notified(T0)
    case.record_neighbour_consent("0301-1/2", T0 + DAY)
    case.record_neighbour_comment("0301-1/3", True, T0 + 2 * DAY)
    assert case.has_objections and case.decision_deadline == date(2026, 5, 26)  # 12 weeks
    _decide(case, T0 + 15 * DAY)
    assert case.status is Status.DECIDED and case.appeal_deadline == date(2026, 4, 7)
    case.archive("0301-2026/17", T0 + 40 * DAY)
    assert (case.status, case.archive_reference) == (Status.ARCHIVED, "0301-2026/17")


def test_three_weeks_without_objections_and_all_consents_allow_an_early_decision() -> None:
    case = _with_consent(_with_consent(_notified(T0), "0301-1/2"), "0301-1/3")
    assert case.decision_deadline == date(2026, 3, 23)
    _decide(case, T0 + 2 * DAY)
    assert case.status is Status.DECIDED


def test_missing_documents_pause_the_clock_until_they_arrive() -> None:
    case = _awaiting(T0)
    assert case.status is Status.AWAITING_DOCUMENTS and case.decision_deadline is None
    attach(case, "lonnsslipp", T0 + 10 * DAY)
    assert case.status is Status.SUBMITTED
    assert case.decision_deadline == date(2026, 4, 7)  # 21 + 10 days lands in Easter
    assert [type(e).__name__ for e in case.collect_events()][-2:] == [
        "AttachmentAdded",
        "ProcessingResumed",
    ]


def test_emergency_social_assistance_is_due_the_next_day(rng: random.Random) -> None:
    case = draft("sosialhjelp", T0)
    form = synthetic.complete_form(rng, "sosialhjelp", "0301") | {"nodhjelp": True}
    case.submit(form, T0, service("sosialhjelp"))
    assert case.decision_deadline == date(2026, 3, 3)


def test_decision_past_deadline_is_flagged() -> None:
    case = submitted("avfallsbeholder", T0)
    _decide(case, T0 + 20 * DAY)
    assert case.decided_past_deadline


def test_retention_is_due_after_the_appeal_period() -> None:
    case = decided("avfallsbeholder", T0)
    assert case.appeal_deadline == date(2026, 3, 30)
    assert case.retention_due(30) == date(2026, 4, 30)


def test_preliminary_reply_is_due_a_month_after_submission_until_sent() -> None:
    case = submitted("skjenkebevilling", T0)
    assert case.preliminary_reply_due == date(2026, 4, 7)  # 2 April is Skjærtorsdag
    case.send_preliminary_reply("høring hos politiet", date(2026, 6, 1), T0 + 20 * DAY)
    assert case.preliminary_reply_due is None


def test_events_carry_pinned_topics() -> None:
    case = decided(BUILD, T0)
    topics = {type(e).TOPIC for e in case.collect_events()}  # type: ignore[attr-defined]
    assert all(t.startswith("saksflyt.application.") for t in topics)
    assert "saksflyt.application.decision-made" in topics


SHREDDED_STEPS: list[tuple[str, When]] = [
    ("save draft", lambda c: c.save_draft({}, T0 + 9 * DAY)),
    ("add attachment", lambda c: attach(c, "foto", T0 + 9 * DAY)),
    ("submit", lambda c: c.submit({}, T0 + 9 * DAY, service(c.service))),
    ("send receipt", lambda c: c.send_receipt(ReceiptChannel.EMAIL, "m", T0 + 9 * DAY)),
    (
        "request missing documents",
        lambda c: c.request_missing_documents(["x"], "r", T0 + 9 * DAY, service(c.service)),
    ),
    ("resume processing", lambda c: c.resume_processing(T0 + 9 * DAY)),
    (
        "send neighbour notice",
        lambda c: c.send_neighbour_notice(["n"], T0 + 9 * DAY, service(c.service)),
    ),
    ("record neighbour comment", lambda c: c.record_neighbour_comment("n", True, T0 + 9 * DAY)),
    ("record neighbour consent", lambda c: c.record_neighbour_consent("n", T0 + 9 * DAY)),
    (
        "send preliminary reply",
        lambda c: c.send_preliminary_reply("r", date(2027, 1, 1), T0 + 9 * DAY),
    ),
    ("decide", lambda c: _decide(c, T0 + 9 * DAY)),
    ("withdraw", lambda c: c.withdraw("r", T0 + 9 * DAY)),
    ("archive", lambda c: c.archive("A-1", T0 + 9 * DAY)),
    ("shred", lambda c: c.shred(T0 + 9 * DAY)),
]


@pytest.mark.parametrize(("step", "when"), SHREDDED_STEPS, ids=[s for s, _ in SHREDDED_STEPS])
def test_nothing_follows_shredding(step: str, when: When) -> None:
    case = _shredded(T0)
    before = copy.deepcopy(vars(case))
    with pytest.raises(InvalidTransition, match="shredded") as refused:
        when(case)
    assert refused.value.step == step
    assert vars(case) == before
