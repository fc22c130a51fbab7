"""The service catalogue: what each e-service is, which law governs it, its clocks and its retention.

The catalogue is data (``domain/data/services.toml``); a municipality may override the settings that
are local practice rather than statute (decision days, retention) without touching code.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import time
from functools import cache
from importlib import resources
from typing import Any

from domain import local_rules
from domain.deadlines import APPEAL_DAYS
from domain.errors import UnknownService
from domain.forms import FORMS
from domain.retention import MUNICIPAL_PLAN, Retention, RetentionAction, parse_retention

__all__ = ["Catalogue", "Retention", "RetentionAction", "Sensitivity", "Service"]


class Sensitivity(enum.Enum):
    """How sensitive a service's data is. Health data is a special category (GDPR art. 9);
    social-assistance and financial data are not, but are confidential all the same
    (sosialtjenesteloven § 44, fvl § 13) and sealed like health data."""

    NONE = "none"
    PERSONAL = "personal"
    HEALTH = "health"
    SOCIAL = "social"


@dataclass(frozen=True, slots=True)
class Service:
    """One e-service with the settings in force (catalogue defaults plus any municipal override)."""

    code: str
    name_nb: str
    name_en: str
    legal_basis: tuple[str, ...]
    sensitivity: Sensitivity
    required_attachments: frozenset[str]
    optional_attachments: frozenset[str]
    neighbour_notice: bool
    third_parties: tuple[str, ...]
    decision_days: int | None
    decision_days_statutory: bool
    retention: Retention
    objection_decision_days: int | None = None
    urgent_decision_days: int | None = None
    drafts: bool = True  # False: submitted in one step, nothing stored before (sosialhjelp)
    name_nn: str = ""
    description_nb: str = ""  # for the published catalogue: what, who, cost, attachments, time
    former_name_nb: str | None = None  # a name people still search for (melding om tiltak)
    # the klagefrist: fvl § 29, or a special law's (pleie-omsorg: pbrl. § 7-5, four weeks)
    appeal_days: int = APPEAL_DAYS
    individual_decision: bool = True  # False: registered and acknowledged, never decided
    appeal_review_days: int = 42  # fvl § 33 (practice); building cases 56 (SAK10 § 7-1)
    deemed_granted: bool = False  # pbl § 21-7 tredje ledd: granted by law on an overrun
    decision_before: str | None = None  # a form date the decision must come before (gravemelding)
    consultations: tuple[str, ...] = ()  # bodies that must be heard before deciding
    optional_consultations: tuple[str, ...] = ()  # bodies that may be heard
    consultation_days: int = 21  # the answer-by date given to a consulted body (practice)
    survey_days: int | None = None  # oppmålingsforretning after the permit (matrikkelforskriften)
    contact_requests: bool = False  # «kontakt meg»: a call-back request a caseworker takes up
    survey_winter_pause: tuple[str, str] | None = None  # "MM-DD" to "MM-DD": the clock stands
    deciding_body: str = "kommunen"  # who decides (NAV-kontoret for sosialhjelp)
    appeal_body: str | None = None  # who hears an appeal (None: no decision, nothing to appeal)
    appeal_body_law: str | None = None  # the provision that names the appeal body
    area_limits_m2: Mapping[str, float] | None = None  # the largest work of each kind (SAK10)
    area_limits_law: str = ""
    permit_valid_years: int | None = None  # a granted permit runs this long unless the vedtak
    permit_validity_law: str = ""  # says shorter; where that comes from
    permit_purposes: tuple[str, ...] = ()  # kartforretning: the purposes that need a pbl permit
    serving_hours: Mapping[int, tuple[time, time]] | None = None  # skjenkebevilling, § 4-4
    # settings that differ with a form field's value: {field: {value: {setting: value}}}
    variants: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None

    def for_form(self, form: Mapping[str, Any] | None) -> Service:
        """The service as it applies to one application: a variant's settings where the form
        names one (pleie-omsorg: an omsorgsbolig is appealed under fvl, not pbrl)."""
        for field, by_value in (self.variants or {}).items():
            settings = by_value.get(str((form or {}).get(field)))
            if settings:
                return replace(self, **settings)
        return self

    @property
    def allowed_attachments(self) -> frozenset[str]:
        return self.required_attachments | self.optional_attachments


def _form_fields(code: str) -> Mapping[str, Any]:
    return FORMS[code].model_fields if code in FORMS else {}


def _service_from_table(code: str, table: Mapping[str, Any]) -> Service:
    retention = parse_retention(table["retention"], code, _form_fields(code))
    return Service(
        code=code,
        name_nb=table["name_nb"],
        name_en=table["name_en"],
        legal_basis=tuple(table["legal_basis"]),
        sensitivity=Sensitivity(table["sensitivity"]),
        required_attachments=frozenset(table["required_attachments"]),
        optional_attachments=frozenset(table["optional_attachments"]),
        neighbour_notice=table["neighbour_notice"],
        third_parties=tuple(table["third_parties"]),
        decision_days=table.get("decision_days"),
        decision_days_statutory=table["decision_days_statutory"],
        retention=retention,
        objection_decision_days=table.get("objection_decision_days"),
        urgent_decision_days=table.get("urgent_decision_days"),
        drafts=table.get("drafts", True),
        appeal_days=table.get("appeal_days", APPEAL_DAYS),
        individual_decision=table.get("individual_decision", True),
        appeal_review_days=table.get("appeal_review_days", 42),
        name_nn=table.get("name_nn", table["name_nb"]),
        description_nb=" ".join(table.get("description_nb", "").split()),
        former_name_nb=table.get("former_name_nb"),
        deemed_granted=table.get("deemed_granted_on_overrun", False),
        decision_before=table.get("decision_before"),
        consultations=tuple(table.get("consultations", ())),
        optional_consultations=tuple(table.get("optional_consultations", ())),
        consultation_days=table.get("consultation_days", 21),
        survey_days=table.get("survey_days"),
        contact_requests=table.get("contact_requests", False),
        deciding_body=table.get("deciding_body", "kommunen"),
        appeal_body=table.get("appeal_body"),
        appeal_body_law=table.get("appeal_body_law"),
        area_limits_m2=table.get("area_limits_m2"),
        area_limits_law=table.get("area_limits_law", ""),
        permit_valid_years=local_rules.permit_years(code, table.get("permit_valid_years")),
        permit_validity_law=table.get("permit_validity_law", ""),
        permit_purposes=tuple(table.get("permit_purposes", ())),
        serving_hours=local_rules.serving_hours(code, table.get("serving_hours")),
        variants=_variants(code, table.get("variants")),
    )


VARIANT_SETTINGS = frozenset({"appeal_days", "appeal_body", "appeal_body_law"})


def _variants(code: str, raw: Any) -> dict[str, dict[str, dict[str, Any]]] | None:
    if raw is None:
        return None
    fields = _form_fields(code)
    for field, by_value in raw.items():
        if field not in fields:
            raise ValueError(f"{code}: variants of {field!r}, which the form does not have")
        for value, settings in by_value.items():
            unknown = set(settings) - VARIANT_SETTINGS
            if unknown:
                raise ValueError(f"{code}: variant {field}={value} cannot set {sorted(unknown)}")
    return {field: dict(by_value) for field, by_value in raw.items()}


@cache
def default_services() -> dict[str, Service]:
    text = resources.files("domain").joinpath("data/services.toml").read_text(encoding="utf-8")
    return {code: _service_from_table(code, table) for code, table in tomllib.loads(text).items()}


MAALFORMER = ("nb", "nn")  # bokmål, nynorsk (mållova § 6: the municipality chooses)
STATUTORY_CLOCKS = frozenset({"decision_days", "objection_decision_days"})
OVERRIDABLE = frozenset(
    {
        "decision_days",
        "objection_decision_days",
        "retention",
        "survey_winter_pause",
        "permit_valid_years",
        "serving_hours",
    }
)


@dataclass(frozen=True)
class Catalogue:
    """The services, with per-municipality overrides: ``{kommunenummer: {service: {setting: value}}}``.

    An override of ``retention`` is a whole policy, as in the catalogue (``domain.retention``).
    """

    services: Mapping[str, Service]
    overrides: Mapping[str, Mapping[str, Any]]  # service code -> settings, and "maalform"

    @classmethod
    def default(cls, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Catalogue:
        catalogue = cls(default_services(), overrides or {})
        catalogue._check_overrides()
        return catalogue

    def codes(self) -> list[str]:
        return list(self.services)

    def service(self, code: str, kommunenummer: str | None = None) -> Service:
        try:
            service = self.services[code]
        except KeyError:
            known = ", ".join(self.services)
            raise UnknownService(f"unknown service {code!r}; known services: {known}") from None
        override = self.overrides.get(kommunenummer or "", {}).get(code)
        return _apply_override(service, override) if override else service

    def maalform(self, kommunenummer: str) -> str:
        """The written standard the municipality writes its letters in: nb (bokmål) or nn."""
        return str(self.overrides.get(kommunenummer, {}).get("maalform", "nb"))

    def _check_overrides(self) -> None:
        for kommunenummer, per_service in self.overrides.items():
            for code, settings in per_service.items():
                if code == "maalform":  # a setting of the municipality, not of a service
                    if settings not in MAALFORMER:
                        raise ValueError(
                            f"{kommunenummer}: maalform must be one of {list(MAALFORMER)}"
                        )
                    continue
                self.service(code)
                unknown = set(settings) - OVERRIDABLE
                if unknown:
                    raise ValueError(
                        f"{kommunenummer}/{code}: cannot override {sorted(unknown)}; "
                        f"only {sorted(OVERRIDABLE)} are municipal settings"
                    )
                clocks = sorted(set(settings) & STATUTORY_CLOCKS)
                if clocks and self.services[code].decision_days_statutory:
                    law = ", ".join(self.services[code].legal_basis)
                    raise ValueError(
                        f"{kommunenummer}/{code}: {', '.join(clocks)} is set by law ({law}) and "
                        "cannot be overridden; only deadlines of local practice can"
                    )
                self.service(code, kommunenummer)  # parses, and so checks, a retention policy


def _apply_override(service: Service, override: Mapping[str, Any]) -> Service:
    changes = dict(override)
    if "retention" in changes:
        where = f"municipal override of {service.code}"
        changes["retention"] = parse_retention(
            changes["retention"], where, _form_fields(service.code), MUNICIPAL_PLAN
        )
    if "survey_winter_pause" in changes:
        changes["survey_winter_pause"] = local_rules.winter(
            service.code, service.survey_days, changes["survey_winter_pause"]
        )
    if "permit_valid_years" in changes:
        changes["permit_valid_years"] = local_rules.permit_years(
            service.code, changes["permit_valid_years"]
        )
    if "serving_hours" in changes:
        changes["serving_hours"] = local_rules.serving_hours(service.code, changes["serving_hours"])
    return replace(service, **changes)
