"""Every refused step of the Application aggregate names the case, its state and the rule, carries
a stable code, and changes nothing."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date, datetime
from uuid import uuid4

import pytest

from domain.application import Application
from domain.errors import IncompleteForm, InvalidTransition
from domain.lifecycle import OSLO, ReceiptChannel
from domain.values import Attachment, Neighbour
from tests.builders import (
    BUILD,
    DAY,
    T0,
    attach,
    awaiting,
    decide,
    decided,
    draft,
    notified,
    parties,
    prepared,
    service,
    shredded,
    submit,
    submitted,
    with_consent,
    with_reply,
)

STABLE_CODE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


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
        "is before the case's previous event",
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
        "submit a building case before notifying neighbours",
        lambda t: prepared(BUILD, t),
        lambda c: submit(c, T0 + 30 * DAY),
        "must be notified before the application is submitted",
    ),
    (
        "submit while the comment period runs",
        notified,
        lambda c: submit(c, T0 + 5 * DAY),
        "comment period runs until 2026-03-16",
    ),
    (
        "submit on the last day of the comment period with one consent of two",
        lambda t: with_consent(notified(t), "0301-1/2"),
        lambda c: submit(c, datetime(2026, 3, 16, 15, tzinfo=OSLO)),
        "not every neighbour has consented",
    ),
    (
        "submit over an objection without the applicant's comments on it",
        lambda t: objected(notified(t)),
        lambda c: submit(c, T0 + 20 * DAY),
        "comments on the objections",
    ),
    (
        "neighbour notice after the application went in",
        lambda t: submitted(BUILD, t),
        lambda c: c.send_neighbour_notice(parties("0301-1/4"), T0, service(c.service)),
        "before the application is submitted",
    ),
    (
        "a neighbour named by free text instead of a property",
        lambda t: prepared(BUILD, t),
        lambda c: c.send_neighbour_notice(parties("naboen i nr. 5"), T0, service(c.service)),
        "matrikkelnummer",
    ),
    (
        "a neighbour without an address",
        lambda t: prepared(BUILD, t),
        lambda c: c.send_neighbour_notice(
            [Neighbour("0301-1/2", "Kari Nabo", " ")], T0, service(c.service)
        ),
        "name, address and role",
    ),
    (
        "notice for a service without neighbours",
        lambda t: draft("avfallsbeholder", t),
        lambda c: c.send_neighbour_notice(parties("0301-1/2"), T0, service(c.service)),
        "has no neighbour notice",
    ),
    (
        "second neighbour notice",
        notified,
        lambda c: c.send_neighbour_notice(parties("0301-1/4"), T0, service(c.service)),
        "already notified",
    ),
    (
        "comment from someone not notified",
        notified,
        lambda c: c.record_neighbour_comment("0301-9/9", True, T0, service(c.service)),
        "was not notified",
    ),
    (
        "a neighbour answering twice",
        lambda t: with_consent(notified(t), "0301-1/2"),
        lambda c: c.record_neighbour_comment("0301-1/2", True, T0, service(c.service)),
        "already answered",
    ),
    (
        "decide while waiting for documents",
        awaiting,
        lambda c: decide(c, T0 + DAY),
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
        lambda c: c.resume_processing(T0, service(c.service)),
        "only allowed while the case is awaiting-documents",
    ),
    (
        "second preliminary reply",
        lambda t: with_reply(submitted("skjenkebevilling", t)),
        lambda c: c.send_preliminary_reply("x", date(2026, 6, 1), T0 + DAY, service(c.service)),
        "already sent",
    ),
    (
        "preliminary reply expecting the past",
        lambda t: submitted("skjenkebevilling", t),
        lambda c: c.send_preliminary_reply("x", date(2026, 3, 1), T0, service(c.service)),
        "later date, within a year",
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
        lambda c: c.archive("ARK-1", T0 + 10 * DAY, service(c.service)),
        "appeal period (fvl § 29) runs until",
    ),
    (
        "shred an open case",
        lambda t: submitted("avfallsbeholder", t),
        lambda c: c.shred(T0 + 100 * DAY, service(c.service)),
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
        shredded,
        lambda c: c.archive("ARK-1", T0 + 5 * DAY, service(c.service)),
        "shredded (kassert); nothing may follow",
    ),
    ("withdraw after shredding", shredded, lambda c: c.withdraw("x", T0 + 5 * DAY), "shredded"),
]


def objected(case: Application) -> Application:
    case.record_neighbour_comment("0301-1/2", True, T0 + DAY, service(case.service))
    return case


def _submitted_without_email(at: datetime) -> Application:
    case = draft("horingssvar", at)
    form = {"sak_referanse": "2026/1", "avsender_navn": "Velforeningen", "merknad": "Nei takk."}
    case.submit(form, at, service("horingssvar"))
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
