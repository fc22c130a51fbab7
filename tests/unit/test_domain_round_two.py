"""What a municipal lawyer found, each put right in the service's definition: a gravemelding is
answered before the work starts whatever happens; a § 20-4 application covers small works only;
a municipality's winter period has bounds; a høringssvar is never asked for missing documents;
a § 20-4 case is granted by law under pbl § 21-7 tredje ledd."""

from __future__ import annotations

import random
from datetime import date, datetime

import pytest

from domain.case_view import DEEMED_GRANTED
from domain.errors import InvalidTransition
from domain.lifecycle import OSLO, Status
from domain.services import Catalogue
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
