"""The Application aggregate: its lifecycle, clocks and pinned topics; nothing follows shredding."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from domain.application import Application
from domain.errors import IncompleteForm, InvalidTransition
from domain.lifecycle import OSLO, AppealResult, Outcome, ReceiptChannel, Status
from domain.services import Catalogue
from domain.values import Decision
from saksflyt.demo import synthetic
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
    withdrawn,
)

When = Callable[[Application], None]


def test_a_building_case_from_notice_to_archive() -> None:
    case = notified(T0)  # pbl § 21-3: notified before the application goes in
    case.record_neighbour_consent("0301-1/2", T0 + DAY)
    case.record_neighbour_comment("0301-1/3", True, T0 + 2 * DAY, service(case.service))
    submit(case, T0 + 15 * DAY, comments="Tilbygget holder seg fire meter fra grensen")
    # pbl § 21-7 tredje ledd: an objection keeps the three weeks (no grant by law on an overrun)
    assert case.has_objections and case.decision_deadline == date(2026, 4, 7)
    decide(case, T0 + 16 * DAY)
    assert case.status is Status.DECIDED and case.appeal_deadline == date(2026, 4, 8)
    case.archive("0301-2026/17", T0 + 40 * DAY, service(case.service))
    assert (case.status, case.archive_reference) == (Status.ARCHIVED, "0301-2026/17")


def test_with_every_consent_the_application_goes_in_before_the_period_ends() -> None:
    case = with_consent(with_consent(notified(T0), "0301-1/2"), "0301-1/3")
    submit(case, T0 + DAY)
    assert case.decision_deadline == date(2026, 3, 24)  # three weeks
    decide(case, T0 + 2 * DAY)
    assert case.status is Status.DECIDED


def test_a_comment_after_the_period_is_kept_and_marked_late() -> None:
    case = notified(T0)
    case.record_neighbour_comment(
        "0301-1/2", False, T0 + 15 * DAY, service(case.service)
    )  # the period ended 16 March
    assert case.late_comments == ("0301-1/2",)
    (event,) = [e for e in case.collect_events() if type(e).__name__ == "NeighbourCommentReceived"]
    assert event.late is True  # type: ignore[attr-defined]


def test_missing_documents_pause_the_clock_until_they_arrive() -> None:
    case = awaiting(T0)
    assert case.status is Status.AWAITING_DOCUMENTS and case.decision_deadline is None
    attach(case, "lonnsslipp", T0 + 10 * DAY)
    assert case.status is Status.SUBMITTED
    assert case.decision_deadline == date(2026, 4, 7)  # 21 + 10 days lands in Easter
    assert [type(e).__name__ for e in case.collect_events()][-2:] == [
        "AttachmentAdded",
        "ProcessingResumed",
    ]


@pytest.mark.parametrize(
    "submitted_on",
    [
        datetime(2026, 3, 6, 15, tzinfo=OSLO),  # a Friday afternoon: not Monday
        datetime(2026, 4, 1, 11, tzinfo=OSLO),  # the Wednesday before Easter: not six days on
        datetime(2026, 3, 7, 23, 30, tzinfo=OSLO),  # a Saturday night
    ],
)
def test_emergency_help_is_assessed_the_same_day_weekend_or_holiday(
    rng: random.Random, submitted_on: datetime
) -> None:
    """sosialtjenesteloven § 18, nødhjelp: the same day, calendar days, no roll-over; still open
    at the end of that day, it is past its deadline (the deadline watch and its alert)."""
    case = draft("sosialhjelp", submitted_on)
    form = synthetic.complete_form(rng, "sosialhjelp", "0301") | {"nodhjelp": True}
    case.submit(form, submitted_on, service("sosialhjelp"))
    assert case.decision_deadline == submitted_on.date()
    (event,) = [e for e in case.collect_events() if type(e).__name__ == "Submitted"]
    assert event.decision_due == submitted_on.date()  # type: ignore[attr-defined]
    ordinary = draft("sosialhjelp", submitted_on)
    ordinary.submit(
        synthetic.complete_form(rng, "sosialhjelp", "0301"), submitted_on, service("sosialhjelp")
    )
    assert ordinary.decision_deadline is not None
    assert ordinary.decision_deadline > submitted_on.date() + timedelta(days=20)


def test_decision_past_deadline_is_flagged() -> None:
    case = submitted("avfallsbeholder", T0)
    decide(case, T0 + 20 * DAY)
    assert case.decided_past_deadline


def test_retention_is_due_after_the_appeal_period() -> None:
    case = decided("avfallsbeholder", T0)
    assert case.appeal_deadline == date(2026, 3, 30)
    assert case.retention_due(service("avfallsbeholder")) == date(2026, 4, 30)  # 30 days


def test_preliminary_reply_is_due_a_month_after_submission_until_sent() -> None:
    case = submitted("skjenkebevilling", T0)
    assert case.preliminary_reply_due == date(2026, 4, 7)  # 2 April is Skjærtorsdag
    case.send_preliminary_reply(
        "høring hos politiet", date(2026, 6, 1), T0 + 20 * DAY, service(case.service)
    )
    assert case.preliminary_reply_due is None


def _decided(at: datetime) -> Application:
    return decided("avfallsbeholder", at)


@pytest.mark.parametrize("make", [withdrawn, _decided])
def test_a_receipt_sent_before_the_case_moved_on_is_still_recorded(
    make: Callable[[datetime], Application],
) -> None:
    """Submitted and withdrawn within one batch (the intake catching up after a restart): the
    receipt went out, and recording it was refused. Found by the fault campaign."""
    case = make(T0)
    case.record_message("kvittering", "email", "<m1@kommune.example>", T0 + 30 * DAY)
    assert [r["message_id"] for r in case.receipts] == ["<m1@kommune.example>"]


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
    ("resume processing", lambda c: c.resume_processing(T0 + 9 * DAY, service(c.service))),
    (
        "send neighbour notice",
        lambda c: c.send_neighbour_notice(parties("0301-1/2"), T0 + 9 * DAY, service(c.service)),
    ),
    (
        "record neighbour comment",
        lambda c: c.record_neighbour_comment("n", True, T0 + 9 * DAY, service(c.service)),
    ),
    ("record neighbour consent", lambda c: c.record_neighbour_consent("n", T0 + 9 * DAY)),
    (
        "send preliminary reply",
        lambda c: c.send_preliminary_reply("r", date(2027, 1, 1), T0 + 9 * DAY, service(c.service)),
    ),
    ("decide", lambda c: decide(c, T0 + 9 * DAY)),
    ("withdraw", lambda c: c.withdraw("r", T0 + 9 * DAY)),
    ("archive", lambda c: c.archive("A-1", T0 + 9 * DAY, service(c.service))),
    ("shred", lambda c: c.shred(T0 + 9 * DAY, service(c.service))),
]


@pytest.mark.parametrize(("step", "when"), SHREDDED_STEPS, ids=[s for s, _ in SHREDDED_STEPS])
def test_nothing_follows_shredding(step: str, when: When) -> None:
    case = shredded(T0)
    before = copy.deepcopy(vars(case))
    with pytest.raises(InvalidTransition, match="shredded") as refused:
        when(case)
    assert refused.value.step == step
    assert vars(case) == before


@pytest.mark.parametrize(
    ("code", "appeal_deadline"),
    [
        ("ledsagerbevis", date(2026, 3, 30)),  # fvl § 29: three weeks, 28 March a Saturday
        ("pleie-omsorg", date(2026, 4, 7)),  # pbrl. § 7-5: four weeks, then Easter
    ],
)
def test_the_appeal_period_is_the_law_of_the_service(code: str, appeal_deadline: date) -> None:
    case = decided(code, T0)  # decided on Saturday 7 March
    assert case.appeal_deadline == appeal_deadline


def test_a_horingssvar_is_registered_not_decided() -> None:
    """A response to a consultation is no individual decision (fvl § 2): no vedtak, no decision
    clock, no preliminary reply, no appeal; it is done once registered and may be archived."""
    case = draft("horingssvar", T0)
    form = {"sak_referanse": "2026/1", "avsender_navn": "Velforeningen", "merknad": "Nei takk."}
    case.submit({**form, "horingsfrist": date(2026, 3, 16)}, T0, service("horingssvar"))
    assert case.decision_deadline is None and case.preliminary_reply_due is None
    assert case.late is False
    granted = Decision(Outcome.GRANTED, "pbl § 12-10", "s")
    with pytest.raises(InvalidTransition, match="no individual decision") as refused:
        case.decide(granted, T0 + DAY, service("horingssvar"))
    assert refused.value.code == "no-decision-in-service"
    case.archive("2026/1", T0 + DAY, service("horingssvar"))
    assert case.status is Status.ARCHIVED


def test_a_horingssvar_after_the_closing_date_is_registered_and_marked_late() -> None:
    case = draft("horingssvar", T0)
    form = {"sak_referanse": "2026/1", "avsender_navn": "Ola", "merknad": "Sent, men likevel."}
    case.submit({**form, "horingsfrist": date(2026, 3, 1)}, T0, service("horingssvar"))
    assert case.status is Status.SUBMITTED and case.late is True


def test_the_appeal_period_runs_from_the_day_the_decision_reached_the_party() -> None:
    """fvl § 29: three weeks from delivery, not from the decision; a letter by post that came
    on 16 March gives until 6 April (then Easter: 7 April)."""
    case = decided("ledsagerbevis", T0)  # decided on Saturday 7 March
    case.record_delivery(date(2026, 3, 16), T0 + 15 * DAY, service("ledsagerbevis"))
    assert case.appeal_deadline == date(2026, 4, 7) and case.delivered
    with pytest.raises(InvalidTransition, match="already recorded"):
        case.record_delivery(date(2026, 3, 17), T0 + 16 * DAY, service("ledsagerbevis"))


def test_a_decision_letter_in_the_mailbox_has_reached_the_party_that_day() -> None:
    case = decided("pleie-omsorg", T0)
    sent = T0 + 6 * DAY  # Sunday 8 March
    case.record_message("vedtak", "email", "<v@x>", sent, service=service("pleie-omsorg"))
    assert case.appeal_deadline == date(2026, 4, 7)  # pbrl. § 7-5: four weeks, then Easter
    assert [type(e).__name__ for e in case.collect_events()][-2:] == [
        "MessageSent",
        "DecisionDelivered",
    ]


@pytest.mark.parametrize("delivered_on", [date(2026, 3, 6), date(2026, 3, 20)])
def test_a_delivery_before_the_decision_or_after_today_is_refused(delivered_on: date) -> None:
    case = decided("ledsagerbevis", T0)  # decided 7 March; "today" is 10 March
    with pytest.raises(InvalidTransition, match="on or after the day it was made") as refused:
        case.record_delivery(delivered_on, T0 + 8 * DAY, service("ledsagerbevis"))
    assert refused.value.code == "delivery-date-out-of-range"


def test_an_appeal_goes_to_the_deciding_body_then_to_the_statsforvalteren() -> None:
    """fvl §§ 32-34: the klage goes to the body that decided; it reviews it within its clock
    (practice; building cases eight weeks, SAK10 § 7-1), upholds and sends it on; the appeal
    body's answer is final (fvl § 28) and the case may then be closed."""
    case = decided("ledsagerbevis", T0)  # decided 7 March, appeal period to 30 March
    case.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service("ledsagerbevis"))
    assert case.status is Status.APPEALED and case.appeal is not None
    assert case.appeal["timely"] is True
    assert case.appeal["review_due"] == date(2026, 5, 4)  # 42 days: 1 May, a holiday, then Monday
    with pytest.raises(InvalidTransition, match="has not been sent on"):
        case.record_appeal_result(AppealResult.UPHELD, T0 + 19 * DAY, service(case.service))
    case.review_appeal(None, None, T0 + 20 * DAY, service("ledsagerbevis"))
    case.record_appeal_result(AppealResult.UPHELD, T0 + 60 * DAY, service(case.service))
    assert case.status is Status.DECIDED and case.final
    with pytest.raises(InvalidTransition, match="no further appeal") as refused:
        case.receive_appeal(date(2026, 5, 2), T0 + 61 * DAY, service("ledsagerbevis"))
    assert refused.value.code == "appeal-decided"
    case.shred(T0 + 62 * DAY, service("ledsagerbevis"))  # closable: the answer was final


def test_the_deciding_body_may_reverse_with_a_new_decision_that_can_be_appealed() -> None:
    case = decided("ledsagerbevis", T0)
    case.receive_appeal(date(2026, 4, 6), T0 + 36 * DAY, service("ledsagerbevis"))
    assert case.appeal and case.appeal["timely"] is False  # after 30 March: taken in, late
    refused_before = case.decision
    new = Decision(Outcome.GRANTED, "Bufdirs retningslinjer", "sb-2")
    case.review_appeal(new, None, T0 + 37 * DAY, service("ledsagerbevis"))
    assert case.status is Status.DECIDED and case.decision != refused_before
    assert case.appeal_deadline == date(2026, 4, 29)  # a new appeal period from the new vedtak
    case.receive_appeal(date(2026, 4, 10), T0 + 39 * DAY, service("ledsagerbevis"))
    assert case.status is Status.APPEALED


def test_a_building_case_appeal_is_reviewed_within_eight_weeks() -> None:
    case = notified(T0)
    for neighbour in ("0301-1/2", "0301-1/3"):
        case.record_neighbour_consent(neighbour, T0)
    submit(case, T0 + DAY)
    decide(case, T0 + 2 * DAY)
    case.receive_appeal(date(2026, 3, 9), T0 + 7 * DAY, service(BUILD))
    assert case.appeal and case.appeal["review_due"] == date(2026, 5, 4)  # SAK10 § 7-1: 56 days


@pytest.mark.parametrize(
    ("needs", "deadline"),
    [
        ({}, date(2026, 4, 7)),  # three weeks from 16 March: 6 April is Easter Monday
        ({"krever_dispensasjon": True}, date(2026, 6, 8)),  # twelve weeks
        ({"krever_samtykke_annen_myndighet": True}, date(2026, 6, 8)),
    ],
)
def test_a_building_case_needing_a_dispensation_or_consent_has_twelve_weeks(
    needs: dict[str, bool], deadline: date
) -> None:
    """pbl § 21-7: three weeks for a søknad om tiltak uten ansvarsrett, twelve where a
    dispensation or another authority's consent is needed."""
    case = notified(T0)
    for neighbour in ("0301-1/2", "0301-1/3"):
        case.record_neighbour_consent(neighbour, T0)
    form = synthetic.complete_form(random.Random(1), BUILD, "0301") | needs
    case.submit(form, T0 + 14 * DAY, service(BUILD))  # Monday 16 March
    assert case.decision_deadline == deadline


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: _building(krever_dispensasjon=True), "twelve-week-case"),  # pbl § 21-7 første ledd
        (lambda: submitted("avfallsbeholder", T0), "no-deemed-grant-in-service"),
    ],
)
def test_pbl_21_7_grants_by_law_only_a_three_week_building_case(
    build: Callable[[], Application], code: str
) -> None:
    case = build()
    with pytest.raises(InvalidTransition) as refused:
        case.deem_granted(T0 + 200 * DAY, service(case.service))
    assert refused.value.code == code and case.status is Status.SUBMITTED


def test_pbl_21_7_a_quiet_building_case_is_granted_by_law_after_three_weeks() -> None:
    case = _building()
    assert case.decision_deadline == date(2026, 3, 23)
    case.deem_granted(T0 + 22 * DAY, service(BUILD))
    assert case.status is Status.DECIDED and case.decided_past_deadline
    assert case.decision is not None and case.decision["outcome"] == Outcome.GRANTED.value
    assert case.appeal_deadline == date(2026, 4, 14)  # fvl § 29: three weeks from that day


def _building(**form: object) -> Application:
    """A building case submitted with every neighbour's consent (pbl § 21-3)."""
    case = notified(T0)
    for neighbour in case.neighbours:
        case.record_neighbour_consent(neighbour, T0)
    complete = synthetic.complete_form(random.Random(1), BUILD, "0301")
    case.submit({**complete, **form}, T0, service(BUILD))
    return case


@pytest.mark.parametrize(
    ("sent", "start", "deadline"),
    [
        (date(2026, 3, 2), date(2026, 4, 20), date(2026, 3, 16)),  # the usual 14 days
        (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 6)),  # Monday start: the Friday before
        (date(2026, 3, 27), date(2026, 4, 7), date(2026, 4, 1)),  # Easter: the Wednesday before
    ],
)
def test_a_gravemelding_is_answered_before_the_work_starts(
    sent: date, start: date, deadline: date
) -> None:
    """Veglova § 32 and the gravereglement: the notice comes before the work, and so does the
    answer; the clock ends on the last working day before the planned start."""
    case = prepared("gravemelding", T0)
    form = synthetic.complete_form(random.Random(1), "gravemelding", "0301")
    form |= {"periode_fra": str(start), "periode_til": str(start + 10 * DAY)}
    at = datetime.combine(sent, T0.timetz())
    case.submit(form, at, service("gravemelding"))
    assert case.decision_deadline == deadline


def test_a_gravemelding_for_work_already_started_is_refused() -> None:
    case = prepared("gravemelding", T0)
    form = synthetic.complete_form(random.Random(1), "gravemelding", "0301")
    form |= {"periode_fra": str(T0.date()), "periode_til": str(T0.date() + 3 * DAY)}
    with pytest.raises(InvalidTransition) as refused:
        case.submit(form, T0, service("gravemelding"))
    assert refused.value.code == "planned-start-passed" and case.status is Status.DRAFT


LICENCE = "skjenkebevilling"


def test_a_licence_is_decided_only_after_the_police_and_social_services_are_heard() -> None:
    """Alkoholloven § 1-7: the municipality obtains their statements before deciding; a body
    that lets its answer-by date pass without answering does not hold the decision up."""
    case = submitted(LICENCE, T0)
    with pytest.raises(InvalidTransition) as refused:
        decide(case, T0 + DAY)
    assert refused.value.code == "consultations-missing"
    case.request_consultation("politiet", T0 + DAY, service(LICENCE))
    case.request_consultation("sosialtjenesten", T0 + DAY, service(LICENCE))
    case.record_consultation_answer("politiet", False, T0 + 10 * DAY)
    with pytest.raises(InvalidTransition) as refused:
        decide(case, T0 + 11 * DAY)
    assert refused.value.code == "consultation-running" and "sosialtjenesten" in str(refused.value)
    answer_by = case.consultations[1]["answer_by"]
    assert answer_by == date(2026, 3, 31)  # 28 days from the request
    decide(case, T0 + 30 * DAY)  # the answer-by date has passed
    assert case.status is Status.DECIDED


@pytest.mark.parametrize(
    ("step", "code"),
    [
        (
            lambda c: c.request_consultation("kirken", T0, service(LICENCE)),
            "consultation-party-unknown",
        ),
        (
            lambda c: c.request_consultation("politiet", T0, service(LICENCE)),
            "consultation-already-requested",
        ),
        (
            lambda c: c.record_consultation_answer("skatteetaten", True, T0),
            "consultation-not-requested",
        ),
    ],
)
def test_consultation_steps_that_make_no_sense_are_refused(step: When, code: str) -> None:
    case = submitted(LICENCE, T0)
    case.request_consultation("politiet", T0, service(LICENCE))
    with pytest.raises(InvalidTransition) as refused:
        step(case)
    assert refused.value.code == code


def test_an_answer_after_its_date_is_kept_and_marked_late() -> None:
    case = submitted(LICENCE, T0)
    case.request_consultation("skatteetaten", T0, service(LICENCE))  # may be asked, need not
    case.record_consultation_answer("skatteetaten", True, T0 + 40 * DAY)
    events = case.collect_events()
    assert events[-1].late is True and events[-1].objection is True  # type: ignore[attr-defined]


def _ask(case: Application, party: str) -> None:
    case.request_consultation(party, T0, service(LICENCE))


def test_a_kartforretning_permit_starts_the_survey_clock_and_a_late_survey_is_marked() -> None:
    """Matrikkelforskriften § 18: the survey within 16 weeks of the permit."""
    case = decided("kartforretning", T0, formal="fradeling")
    assert case.survey is not None and case.survey["due"] == date(2026, 6, 29)  # from 7 March
    with pytest.raises(InvalidTransition) as refused:
        case.record_survey(date(2026, 3, 1), T0 + 10 * DAY, service("kartforretning"))
    assert refused.value.code == "survey-date-out-of-range"
    case.record_survey(date(2026, 6, 30), T0 + 130 * DAY, service("kartforretning"))
    assert case.collect_events()[-1].late is True  # type: ignore[attr-defined]
    with pytest.raises(InvalidTransition) as refused:
        case.record_survey(date(2026, 7, 1), T0 + 131 * DAY, service("kartforretning"))
    assert refused.value.code == "survey-already-recorded"


def test_a_municipality_may_pause_the_survey_clock_in_winter_but_not_other_clocks() -> None:
    winter = {"0301": {"kartforretning": {"survey_winter_pause": ["11-01", "04-30"]}}}
    oslo = Catalogue.default(winter).service("kartforretning", "0301")
    assert oslo.survey_winter_pause == ("11-01", "04-30")
    bad = {"0301": {"kartforretning": {"survey_winter_pause": ["november", "april"]}}}
    with pytest.raises(ValueError, match="not a MM-DD date"):
        Catalogue.default(bad)
    elsewhere = {"0301": {"gravemelding": {"survey_winter_pause": ["11-01", "04-30"]}}}
    with pytest.raises(ValueError, match="no survey clock"):
        Catalogue.default(elsewhere)


CARE = "pleie-omsorg"


def test_kontakt_meg_holds_only_how_to_reach_the_person_until_a_caseworker_takes_it_up() -> None:
    case = draft(CARE, T0)
    case.request_contact({"navn": "Ola Nordmann", "telefon": "+47 91234567"}, T0, service(CARE))
    assert case.contact == {"navn": "Ola Nordmann", "telefon": "+47 91234567"} and not case.form
    case.take_up_contact(T0 + DAY, service(CARE))
    assert case.form == {"soker": {"navn": "Ola Nordmann"}, "tjeneste": "kontakt-meg"}
    with pytest.raises(InvalidTransition) as refused:
        case.take_up_contact(T0 + DAY, service(CARE))
    assert refused.value.code == "contact-already-taken-up"


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        ({"navn": "Ola", "telefon": "91234567", "fodselsnummer": "01017000027"}, "Extra inputs"),
        ({"navn": "01017000027", "telefon": "91234567"}, "not a number"),
        ({"navn": "Ola"}, "telefon or epost"),
        ({"navn": "Ola", "telefon": "1234"}, "telefon"),
        ({"navn": "Ola", "epost": "o@x.no", "helse": "diabetes"}, "Extra inputs"),
    ],
)
def test_kontakt_meg_refuses_identity_numbers_and_anything_sensitive(
    contact: dict[str, str], problem: str
) -> None:
    case = draft(CARE, T0)
    with pytest.raises(IncompleteForm, match=problem):
        case.request_contact(contact, T0, service(CARE))
    assert case.contact is None


def test_kontakt_meg_belongs_to_the_care_service_only() -> None:
    case = draft("gravemelding", T0)
    with pytest.raises(InvalidTransition) as refused:
        case.request_contact({"navn": "Ola", "telefon": "91234567"}, T0, service("gravemelding"))
    assert refused.value.code == "no-contact-requests-in-service"
