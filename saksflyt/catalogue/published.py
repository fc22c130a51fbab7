"""A service as the catalogue publishes it (``GET /services``, ``saksflyt services``): names in
bokmål, nynorsk and English, a plain description, the law, the clocks and whether the law sets
them, sensitivity, attachments, third parties, retention, and the JSON Schema of its form; with a
municipality, that municipality's settings applied."""

from __future__ import annotations

from typing import Any

from domain.forms import FORMS
from domain.services import Catalogue, Service


def published(
    service: Service, catalogue: Catalogue, kommunenummer: str | None = None
) -> dict[str, Any]:
    retention = service.retention
    return {
        "code": service.code,
        "name": {"nb": service.name_nb, "nn": service.name_nn, "en": service.name_en},
        "former_name_nb": service.former_name_nb,
        "description_nb": service.description_nb,
        "legal_basis": list(service.legal_basis),
        "individual_decision": service.individual_decision,
        "deadlines": {
            "decision_days": service.decision_days,
            "statutory": service.decision_days_statutory,
            "objection_decision_days": service.objection_decision_days,
            "urgent_decision_days": service.urgent_decision_days,
            "appeal_days": service.appeal_days if service.individual_decision else None,
        },
        "sensitivity": service.sensitivity.value,
        "attachments": {
            "required": sorted(service.required_attachments),
            "optional": sorted(service.optional_attachments),
        },
        "third_parties": list(service.third_parties),
        "neighbour_notice": service.neighbour_notice,
        "drafts": service.drafts,
        "retention": {
            "action": retention.action.value,
            "after_days": retention.after_days,
            "keep": [str(rule) for rule in retention.keep],
            "sample_one_in": retention.sample_one_in,
        },
        "municipality": kommunenummer,
        "maalform": catalogue.maalform(kommunenummer) if kommunenummer else None,
    }


def form_schema(code: str) -> dict[str, Any]:
    """The JSON Schema of the service's form, from its pydantic model (what the API accepts)."""
    schema = FORMS[code].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
