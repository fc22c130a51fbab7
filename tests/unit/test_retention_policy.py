"""Retention policies: parsed and checked on load, each with its source, and what each decides
(pure, no I/O): keep rules, a selection by person, a permit kept while it is in force."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from domain.identifiers import PersonNumberKind, synthetic_fodselsnummer
from domain.retention import RetentionAction, parse_retention
from domain.services import Catalogue
from tests.builders import T0, decide, service, submitted

SOCIAL = Catalogue.default().service("sosialhjelp").retention
CARE = Catalogue.default().service("pleie-omsorg").retention


def _born_on(day: int, d_nummer: bool = False) -> str:
    kind = PersonNumberKind.D_NUMMER if d_nummer else PersonNumberKind.FODSELSNUMMER
    return synthetic_fodselsnummer(random.Random(day), date(1950, 3, day), kind)


@pytest.mark.parametrize(
    ("form", "action"),
    [
        ({"barn_antall": 2}, RetentionAction.ARCHIVE),
        ({"barn_antall": 0}, RetentionAction.SHRED),
        ({}, RetentionAction.SHRED),  # erased or never given: not kept
    ],
)
def test_keep_rules(form: dict[str, int], action: RetentionAction) -> None:
    assert SOCIAL.decide(form, None)[0] is action


@pytest.mark.parametrize(
    ("person", "action"),
    [
        (_born_on(1), RetentionAction.ARCHIVE),
        (_born_on(15), RetentionAction.ARCHIVE),
        (_born_on(15, d_nummer=True), RetentionAction.ARCHIVE),  # D-nummer: day + 40
        (_born_on(2), RetentionAction.SHRED),
        (_born_on(21), RetentionAction.SHRED),
        (None, RetentionAction.SHRED),  # erased: nobody to select
    ],
)
def test_care_cases_are_kept_by_person_not_by_case_id(
    person: str | None, action: RetentionAction
) -> None:
    """Riksarkivarens forskrift § 7-29 selects by person: every case of a person born on the
    selection's days is kept, whatever its case id, in every system that holds them."""
    assert CARE.born_on_days == (1, 15)
    assert CARE.decide({}, person)[0] is action


def test_a_permit_is_kept_while_it_is_in_force() -> None:
    """A parking permit granted for five years is no longer shredded 90 days after the appeal
    period: the policy counts from the day after the permit lapsed."""
    parking = service("parkering-forflytningshemmet")
    case = submitted("parkering-forflytningshemmet", T0, gjelder="passasjer")
    decide(case, T0 + timedelta(days=5))
    assert case.decision is not None
    valid_until = case.decision["valid_until"]
    assert valid_until == date(2031, 3, 6)  # five years from the decision, less a day
    assert case.retention_due(parking) == valid_until + timedelta(days=1 + 90)
    assert parking.retention.source


def test_every_service_names_the_source_of_its_retention() -> None:
    catalogue = Catalogue.default()
    for code in catalogue.codes():
        assert len(catalogue.service(code).retention.source) > 20, code


def test_policies_are_checked_when_they_load() -> None:
    fields = {"barn_antall": int}
    src = {"source": "kommunens plan"}
    for raw, message in [
        ({"action": "burn", "after_days": 1}, "must be 'archive' or 'shred'"),
        ({"action": "shred", "after_days": -1}, "after_days"),
        ({"action": "shred", "after_days": 1}, "needs a source"),
        ({**src, "action": "shred", "after_days": 1, "keep": [{"field": "alder", "above": 1}]},
         "not in the form"),
        ({**src, "action": "shred", "after_days": 1, "keep": [{"field": "barn_antall"}]}, "a keep rule is"),
        ({**src, "action": "shred", "after_days": 1, "sample": {"one_in": 10}}, "not a selection"),
        ({**src, "action": "shred", "after_days": 1, "select": {"born_on_days": [0]}}, "days of the month"),
        ({**src, "action": "shred", "after_days": 1, "select": {"born_on_days": list(range(1, 9))}},
         "1 to 6"),
        ({**src, "action": "archive", "after_days": 0, "select": {"born_on_days": [1]}}, "only make sense"),
        ({**src, "action": "archive", "after_days": 0, "while_in_force": True}, "only make sense"),
        ({**src, "action": "shred", "after_days": 1, "keep_all": True}, "unknown retention settings"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_retention(raw, "sosialhjelp", fields)
    policy = {"action": "shred", "after_days": 1, "keep": [{"field": "x", "above": 0}]}
    bad = {"0301": {"sosialhjelp": {"retention": policy}}}
    with pytest.raises(ValueError, match="municipal override of sosialhjelp"):
        Catalogue.default(bad)
    own = {"0301": {"sosialhjelp": {"retention": {"action": "archive", "after_days": 0}}}}
    assert "kommunens" in Catalogue.default(own).service("sosialhjelp", "0301").retention.source
