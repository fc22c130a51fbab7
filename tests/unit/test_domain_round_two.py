"""What a municipal lawyer found, each put right in the service's definition: a gravemelding is
answered before the work starts whatever happens; a § 20-4 application covers small works only;
a municipality's winter period has bounds; a høringssvar is never asked for missing documents;
a § 20-4 case is granted by law under pbl § 21-7 tredje ledd."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime

import pytest

from domain import licence
from domain.case_view import DEEMED_GRANTED
from domain.errors import InvalidTransition
from domain.lifecycle import OSLO, Outcome, Status
from domain.services import Catalogue
from domain.values import Decision
from saksflyt.demo import synthetic
from tests.builders import DAY, T0, parties, prepared, service, submitted

DIG = "gravemelding"


def _notice(sent: datetime, start: date) -> dict[str, object]:
    form = synthetic.complete_form(random.Random(1), DIG, "0301")
    return form | {"periode_fra": str(start), "periode_til": str(start + 10 * DAY)}


@pytest.mark.parametrize(
    ("sent", "start", "answer_by"),
    [
        (datetime(2026, 3, 7, 12, tzinfo=OSLO), date(2026, 3, 9), None),  # Saturday, Monday start
        (datetime(2026, 4, 4, 12, tzinfo=OSLO), date(2026, 4, 7), None),  # Easter Saturday
        (datetime(2026, 3, 6, 9, tzinfo=OSLO), date(2026, 3, 9), date(2026, 3, 6)),  # Friday
    ],
)
def test_a_gravemelding_is_answered_by_the_last_working_day_before_the_work(
    sent: datetime, start: date, answer_by: date | None
) -> None:
    """Submitted on a weekend or holiday with no working day left before the start: refused with
    a rule the portal can show; submitted on the Friday: due that Friday, never on the start."""
    case = prepared(DIG, sent)
    if answer_by is None:
        with pytest.raises(InvalidTransition) as refused:
            case.submit(_notice(sent, start), sent, service(DIG))
        assert refused.value.code == "notice-too-late" and case.status is Status.DRAFT
        return
    case.submit(_notice(sent, start), sent, service(DIG))
    assert case.decision_deadline == answer_by


def test_a_pause_for_missing_documents_never_moves_the_answer_past_the_start() -> None:
    sent = datetime(2026, 3, 2, 9, tzinfo=OSLO)  # Monday; the work starts Monday 16 March
    case = prepared(DIG, sent)
    case.submit(_notice(sent, date(2026, 3, 16)), sent, service(DIG))
    assert case.decision_deadline == date(2026, 3, 13)  # the Friday before, not 14 days on
    case.request_missing_documents(["skiltplan"], "mangler skiltplan", sent + DAY, service(DIG))
    case.resume_processing(sent + 8 * DAY, service(DIG))  # the clock stood a week
    assert case.decision_deadline == date(2026, 3, 13)
    (resumed,) = [e for e in case.collect_events() if type(e).__name__ == "ProcessingResumed"]
    assert resumed.decision_due == date(2026, 3, 13)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "area", "refused"),
    [
        ("garasje", 900, True),  # the lawyer's 900 m² garage
        ("garasje", 70, False),
        ("bod", 71, True),
        ("tilbygg", 51, True),
        ("tilbygg", 50, False),
        ("terrasse", 200, False),  # no area limit of SAK10 § 3-1 for it on this form
    ],
)
def test_a_section_20_4_application_covers_small_works_only(
    kind: str, area: float, refused: bool
) -> None:
    draft = prepared("melding-om-tiltak", T0)
    draft.send_neighbour_notice(parties("0301-1/2"), T0, service("melding-om-tiltak"))
    draft.record_neighbour_consent("0301-1/2", T0)
    form = synthetic.complete_form(random.Random(1), "melding-om-tiltak", "0301")
    form |= {"tiltakstype": kind, "bruksareal_m2": area}
    if not refused:
        draft.submit(form, T0 + DAY, service("melding-om-tiltak"))
        assert draft.status is Status.SUBMITTED
        return
    with pytest.raises(InvalidTransition) as refusal:
        draft.submit(form, T0 + DAY, service("melding-om-tiltak"))
    assert refusal.value.code == "work-too-large-for-track"
    assert "SAK10 § 3-1" in str(refusal.value) and draft.status is Status.DRAFT


@pytest.mark.parametrize(
    ("winter", "accepted"),
    [
        (["11-01", "05-15"], True),  # the usual local rule
        (["12-01", "03-31"], True),
        (["01-01", "12-31"], False),  # the whole year: the clock would never run
        (["06-01", "05-31"], False),
    ],
)
def test_a_winter_period_longer_than_any_local_rule_is_refused_at_start(
    winter: list[str], accepted: bool
) -> None:
    overrides = {"0301": {"kartforretning": {"survey_winter_pause": winter}}}
    if accepted:
        assert Catalogue.default(overrides).service("kartforretning", "0301").survey_winter_pause
        return
    with pytest.raises(ValueError, match="at most 200"):
        Catalogue.default(overrides)


def test_a_horingssvar_is_never_asked_for_missing_documents() -> None:
    case = submitted("horingssvar", T0)
    with pytest.raises(InvalidTransition) as refused:
        case.request_missing_documents(["vedlegg"], "x", T0 + DAY, service("horingssvar"))
    assert refused.value.code in ("no-decision-in-service", "not-allowed-in-status")
    assert case.status is Status.SUBMITTED


def test_a_section_20_4_case_granted_by_law_cites_section_21_7_third_paragraph() -> None:
    case = submitted("melding-om-tiltak", T0)  # every neighbour consented
    case.deem_granted(T0 + 30 * DAY, service("melding-om-tiltak"))
    assert case.decision and case.decision["legal_basis"] == DEEMED_GRANTED
    assert DEEMED_GRANTED == "pbl § 21-7 tredje ledd"


def test_a_refusal_without_reasons_is_refused_and_its_reasons_are_kept() -> None:
    """fvl §§ 24-25: a refusal or a partial grant states the facts and the main considerations;
    a full grant may leave them out (§ 24 annet ledd)."""
    case = submitted("avfallsbeholder", T0)
    bare = Decision(Outcome.REFUSED, "forurensningsloven § 30", "sb")
    with pytest.raises(InvalidTransition) as refused:
        case.decide(bare, T0 + DAY, service("avfallsbeholder"))
    assert refused.value.code == "reasons-required"
    reasoned = replace(bare, facts="340 liter finnes ikke", considerations="bare faste størrelser")
    case.decide(reasoned, T0 + DAY, service("avfallsbeholder"))
    assert case.reasons == {
        "facts": "340 liter finnes ikke",
        "considerations": "bare faste størrelser",
    }
    granted = submitted("avfallsbeholder", T0)
    granted.decide(replace(bare, outcome=Outcome.GRANTED), T0 + DAY, service("avfallsbeholder"))


def test_a_drivers_parking_permit_ends_with_the_driving_licence() -> None:
    """A permit runs the municipality's period (five years by default) unless the vedtak says
    shorter; a driver's never beyond the driving licence; nothing granted has no period."""
    parking = service("parkering-forflytningshemmet")
    licence = date(2028, 5, 31)
    case = submitted(parking.code, T0, gjelder="forer", forerkort_gyldig_til=str(licence))
    granted = Decision(Outcome.GRANTED, "forskrift § 3", "sb")
    with pytest.raises(InvalidTransition) as refused:
        case.decide(replace(granted, valid_until=date(2029, 1, 1)), T0 + DAY, parking)
    assert refused.value.code == "validity-out-of-range"
    case.decide(granted, T0 + DAY, parking)
    assert case.decision is not None and case.decision["valid_until"] == licence
    lapsed = submitted(parking.code, T0, gjelder="forer", forerkort_gyldig_til="2001-01-01")
    with pytest.raises(InvalidTransition) as refused:
        lapsed.decide(granted, T0 + DAY, parking)  # a licence long run out: no permit to end
    assert refused.value.code == "validity-out-of-range"
    other = submitted("avfallsbeholder", T0)
    with pytest.raises(InvalidTransition) as refused:
        other.decide(replace(granted, valid_until=licence), T0 + DAY, service("avfallsbeholder"))
    assert refused.value.code == "no-permit-period"


@pytest.mark.parametrize(
    ("formal", "due", "survey_after_decision"),
    [
        ("fradeling", date(2026, 5, 26), True),  # 12 weeks (25 May is 2. pinsedag), then survey
        ("arealoverforing", date(2026, 5, 26), True),
        ("grensejustering", date(2026, 6, 22), False),  # 16 weeks from the complete request
        ("oppmaling", date(2026, 6, 22), False),
    ],
)
def test_only_a_fradeling_waits_for_a_permit_before_the_survey(
    formal: str, due: date, survey_after_decision: bool
) -> None:
    """Matrikkelforskriften § 18: a grensejustering or a survey of existing boundaries needs no
    permit under pbl § 20-1 m; its 16 weeks run from the complete request, and its decision
    (the matrikkelføring, appealable under matrikkellova § 46) ends the case's clocks."""
    case = submitted("kartforretning", T0, formal=formal)
    assert case.decision_deadline == due
    granted = Decision(Outcome.GRANTED, "matrikkellova § 6", "landmåler")
    case.decide(granted, T0 + 30 * DAY, service("kartforretning"))
    assert (case.survey is not None) is survey_after_decision
    assert service("kartforretning").appeal_body_law == "matrikkellova § 46"


@pytest.mark.parametrize(
    ("tjeneste", "weeks", "body"),
    [
        ("hjemmesykepleie", 4, "Statsforvalteren"),  # pbrl §§ 7-2, 7-5
        ("sykehjem", 4, "Statsforvalteren"),
        ("omsorgsbolig", 3, "kommunal klagenemnd"),  # not a helse- og omsorgstjeneste: fvl
        ("trygghetsalarm", 3, "kommunal klagenemnd"),
    ],
)
def test_care_appeals_follow_the_service_asked_for(tjeneste: str, weeks: int, body: str) -> None:
    """An omsorgsbolig or a trygghetsalarm is no helse- og omsorgstjeneste under hol. § 3-2:
    its appeal runs three weeks to the municipality's klagenemnd (fvl §§ 28-29); the care
    services themselves four weeks to Statsforvalteren (pbrl §§ 7-2, 7-5)."""
    care = Catalogue.default().service("pleie-omsorg").for_form({"tjeneste": tjeneste})
    assert (care.appeal_days // 7, care.appeal_body) == (weeks, body)
    case = submitted("pleie-omsorg", T0, tjeneste=tjeneste)
    case.decide(Decision(Outcome.GRANTED, "hol. § 3-2", "sb"), T0 + DAY, care)
    assert case.appeal_deadline is not None
    assert case.appeal_deadline >= (T0 + DAY).date() + (weeks * 7 - 1) * DAY
    assert case.appeal_deadline <= (T0 + DAY).date() + (weeks * 7 + 3) * DAY


@pytest.mark.parametrize(
    ("start", "ends_by"),
    [
        (date(2026, 3, 1), date(2028, 9, 30)),  # the kommunestyre elected 2027 takes office
        (date(2028, 9, 30), date(2028, 9, 30)),
        (date(2028, 10, 1), date(2032, 9, 30)),  # four years, to the day
        (date(2030, 1, 15), date(2032, 9, 30)),
    ],
)
def test_a_licence_period_ends_as_alkoholloven_1_6_says(start: date, ends_by: date) -> None:
    assert licence.period_ends_by(start) == ends_by


def _licence(**fields: object) -> dict[str, object]:
    form = synthetic.complete_form(random.Random(5), "skjenkebevilling", "0301")
    return form | {"alkoholgrupper": [1, 2, 3], "skjenketid_fra": "13:00"} | fields


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"skjenketid_fra": "06:00", "skjenketid_til": "05:59"}, "serving-hours-not-allowed"),
        ({"skjenketid_til": "01:00"}, "serving-hours-not-allowed"),  # group 3 ends 24:00 here
        ({"gyldig_fra": "2026-04-01", "gyldig_til": "2030-04-01"}, "licence-period-not-allowed"),
        ({"bevillingstype": "enkelt-anledning"}, "licence-period-not-allowed"),  # no period
        ({"gyldig_fra": "9999-12-31"}, "licence-period-not-allowed"),  # no crash at year 9999
        ({"gyldig_fra": "2020-01-01"}, "licence-period-not-allowed"),  # no licence backwards
        (
            {"bevillingstype": "enkelt-anledning", "gyldig_fra": "2026-06-01", "gyldig_til": "2026-09-01"},
            "licence-period-not-allowed",
        ),
    ],
)  # fmt: skip
def test_a_licence_asks_for_hours_and_a_period_the_law_allows(
    fields: dict[str, object], code: str
) -> None:
    """Alkoholloven § 4-4 (group 3 from 06:00 to 05:59 was accepted before) and § 1-6."""
    case = prepared("skjenkebevilling", T0)
    with pytest.raises(InvalidTransition) as refused:
        case.submit(_licence(**fields), T0, service("skjenkebevilling"))
    assert refused.value.code == code


def test_a_licence_granted_runs_its_period() -> None:
    """The vedtak carries the licence's last day: the period asked for, else § 1-6's end."""
    licensing = service("skjenkebevilling")
    for fields, until in [
        ({}, date(2028, 9, 30)),
        (
            {"bevillingstype": "enkelt-anledning", "gyldig_fra": "2026-06-20", "gyldig_til": "2026-06-21"},
            date(2026, 6, 21),
        ),
    ]:  # fmt: skip
        case = prepared("skjenkebevilling", T0)
        case.submit(_licence(skjenketid_til="00:00", **fields), T0, licensing)
        for party in licensing.consultations:
            case.request_consultation(party, T0, licensing)
        for party in licensing.consultations:
            case.record_consultation_answer(party, False, T0 + DAY)
        case.decide(Decision(Outcome.GRANTED, "alkoholloven § 1-7", "sb"), T0 + 9 * DAY, licensing)
        assert case.decision is not None and case.decision["valid_until"] == until
