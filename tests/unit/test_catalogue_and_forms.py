from __future__ import annotations

import random

import pytest

from domain.errors import IncompleteForm, UnknownService
from domain.forms import FORMS, check_draft, complete_form
from domain.services import Catalogue, RetentionAction, Sensitivity
from saksflyt.demo import synthetic

TEN_SERVICES = {
    "ledsagerbevis",
    "pleie-omsorg",
    "parkering-forflytningshemmet",
    "sosialhjelp",
    "skjenkebevilling",
    "horingssvar",
    "avfallsbeholder",
    "gravemelding",
    "kartforretning",
    "melding-om-tiltak",
}


def test_the_catalogue_holds_the_ten_services_each_with_a_form() -> None:
    catalogue = Catalogue.default()
    assert set(catalogue.codes()) == TEN_SERVICES
    assert set(FORMS) == TEN_SERVICES


@pytest.mark.parametrize(
    ("code", "sensitivity", "retention", "neighbours"),
    [
        ("ledsagerbevis", Sensitivity.HEALTH, RetentionAction.SHRED, False),
        ("sosialhjelp", Sensitivity.SOCIAL, RetentionAction.SHRED, False),
        ("skjenkebevilling", Sensitivity.PERSONAL, RetentionAction.ARCHIVE, False),
        ("melding-om-tiltak", Sensitivity.NONE, RetentionAction.ARCHIVE, True),
    ],
)
def test_catalogue_entries(
    code: str, sensitivity: Sensitivity, retention: RetentionAction, neighbours: bool
) -> None:
    service = Catalogue.default().service(code)
    assert service.sensitivity is sensitivity
    assert service.retention.action is retention
    assert service.neighbour_notice is neighbours


def test_building_cases_have_three_and_twelve_week_clocks() -> None:
    service = Catalogue.default().service("melding-om-tiltak")
    assert (service.decision_days, service.objection_decision_days) == (21, 84)
    assert service.decision_days_statutory


def test_a_municipality_overrides_local_practice_only_for_itself() -> None:
    catalogue = Catalogue.default(
        {
            "4601": {
                "ledsagerbevis": {
                    "retention": {"action": "archive", "after_days": 0},
                    "decision_days": 14,
                }
            }
        }
    )
    bergen, oslo = (
        catalogue.service("ledsagerbevis", "4601"),
        catalogue.service("ledsagerbevis", "0301"),
    )
    assert (bergen.retention.action, bergen.decision_days) == (RetentionAction.ARCHIVE, 14)
    assert (oslo.retention.action, oslo.decision_days) == (RetentionAction.SHRED, 28)


def test_statutory_settings_cannot_be_overridden() -> None:
    with pytest.raises(ValueError, match="cannot override"):
        Catalogue.default({"0301": {"melding-om-tiltak": {"neighbour_notice": False}}})


@pytest.mark.parametrize("clock", ["decision_days", "objection_decision_days"])
def test_a_statutory_deadline_cannot_be_overridden_only_local_practice(clock: str) -> None:
    """pbl § 21-7 sets the building case's 3 and 12 weeks: no municipality may lengthen them."""
    with pytest.raises(ValueError, match=r"set by law \(.*pbl § 21-7.*cannot be overridden"):
        Catalogue.default({"0301": {"melding-om-tiltak": {clock: 42}}})
    Catalogue.default({"0301": {"skjenkebevilling": {"decision_days": 90}}})  # practice: allowed


def test_unknown_service_names_the_known_ones() -> None:
    with pytest.raises(UnknownService, match="known services: ledsagerbevis"):
        Catalogue.default().service("hundeskatt")


@pytest.mark.parametrize("code", sorted(TEN_SERVICES))
def test_synthetic_forms_are_complete(code: str) -> None:
    form = synthetic.complete_form(random.Random(7), code, "0301")
    assert complete_form(code, form)


@pytest.mark.parametrize("code", sorted(TEN_SERVICES))
def test_half_a_form_is_a_valid_draft_but_not_a_submission(code: str) -> None:
    form = synthetic.complete_form(random.Random(7), code, "0301")
    half = dict(list(form.items())[: len(form) // 2])
    check_draft(code, half)
    with pytest.raises(IncompleteForm, match="Field required"):
        complete_form(code, half)


@pytest.mark.parametrize(
    ("code", "field", "value", "problem"),
    [
        ("melding-om-tiltak", "matrikkelnummer", "0301-0/1", "gnr and bnr must be above 0"),
        ("melding-om-tiltak", "tiltakshaver", {"fodselsnummer": "12345678901"}, "control digit"),
        ("skjenkebevilling", "alkoholgrupper", [4], "alkoholgrupper.0"),
        ("gravemelding", "entreprenor_organisasjonsnummer", "123456789", "control digit"),
        ("avfallsbeholder", "storrelse_liter", 100, "storrelse_liter"),
        ("horingssvar", "ukjent_felt", "x", "Extra inputs are not permitted"),
    ],
)
def test_a_draft_with_an_invalid_field_is_refused_with_the_field_named(
    code: str, field: str, value: object, problem: str
) -> None:
    with pytest.raises(IncompleteForm, match=problem):
        check_draft(code, {field: value})


def test_cross_field_rules() -> None:
    rng = random.Random(3)
    licence = synthetic.complete_form(rng, "skjenkebevilling", "0301")
    licence["stedfortreder"] = licence["styrer"]
    with pytest.raises(IncompleteForm, match="different people"):
        complete_form("skjenkebevilling", licence)
    dig = synthetic.complete_form(rng, "gravemelding", "0301")
    dig["periode_til"] = "2026-01-01"
    with pytest.raises(IncompleteForm, match="periode_til"):
        complete_form("gravemelding", dig)


def test_sensitive_fields_are_marked_in_the_schema() -> None:
    schema = FORMS["ledsagerbevis"].model_json_schema()
    assert schema["properties"]["funksjonsnedsettelse"]["sensitivity"] == "health"
