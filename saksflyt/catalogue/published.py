"""A service as the catalogue publishes it (``GET /services``, ``saksflyt services``): names in
bokmål, nynorsk and English, a plain description, the law, the clocks and whether the law sets
them, sensitivity, attachments, third parties, retention, and the JSON Schema of its form; with a
municipality, that municipality's settings applied."""

from __future__ import annotations

from typing import Any

from domain.flow import chart
from domain.forms import FORMS
from domain.services import Catalogue, Service
from saksflyt.catalogue.layout import columns


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
        "deciding_body": service.deciding_body,
        "appeal_body": (
            {"name": service.appeal_body, "law": service.appeal_body_law}
            if service.appeal_body
            else None
        ),
        "deadlines": {
            "decision_days": service.decision_days,
            "statutory": service.decision_days_statutory,
            "objection_decision_days": service.objection_decision_days,
            "urgent_decision_days": service.urgent_decision_days,
            "appeal_days": service.appeal_days if service.individual_decision else None,
            "deemed_granted_on_overrun": service.deemed_granted,
            "decision_before": service.decision_before,
            "survey_days": service.survey_days,
            "survey_winter_pause": list(service.survey_winter_pause or ()) or None,
        },
        "clocks": _clocks(service),
        "sensitivity": service.sensitivity.value,
        "attachments": {
            "required": sorted(service.required_attachments),
            "optional": sorted(service.optional_attachments),
        },
        "third_parties": list(service.third_parties),
        "consultations": {
            "required": list(service.consultations),
            "optional": list(service.optional_consultations),
            "answer_days": service.consultation_days if service.consultations else None,
        },
        "neighbour_notice": service.neighbour_notice,
        "drafts": service.drafts,
        "contact_requests": service.contact_requests,
        "retention": {
            "action": retention.action.value,
            "after_days": retention.after_days,
            "keep": [str(rule) for rule in retention.keep],
            "select_born_on_days": list(retention.born_on_days),
            "while_in_force": retention.while_in_force,
            "rule": retention.describe(),
            "source": retention.source,
        },
        "permit": (
            {"valid_years": service.permit_valid_years, "law": service.permit_validity_law}
            if service.permit_valid_years
            else None
        ),
        "permit_purposes": list(service.permit_purposes) or None,
        "serving_hours": (
            {str(g): [f"{a:%H:%M}", f"{b:%H:%M}"] for g, (a, b) in service.serving_hours.items()}
            if service.serving_hours
            else None
        ),
        "variants": service.variants,
        "municipality": kommunenummer,
        "maalform": catalogue.maalform(kommunenummer) if kommunenummer else None,
    }


def _clocks(service: Service) -> list[dict[str, str]]:
    """Each clock the service's process runs, with the law that sets it (from its chart)."""
    timers = (n for n in chart(service).nodes.values() if n.kind in ("timer", "boundary"))
    return [{"name": n.name, "law": n.law} for n in {n.name: n for n in timers}.values()]


def form_schema(code: str) -> dict[str, Any]:
    """The JSON Schema of the service's form, from its pydantic model (what the API accepts)."""
    schema = FORMS[code].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def markdown(catalogue: Catalogue) -> str:
    """The catalogue as ``docs/services.md`` (generated: ``saksflyt services --format markdown``)."""
    lines = [
        "# The services (generated)",
        "",
        "Written by `saksflyt services --format markdown > docs/services.md` from",
        "`domain/data/services.toml` and `domain/forms.py`, the process diagrams by",
        "`saksflyt services --format svg --out docs/process` from `domain/process.py`;",
        "a test keeps both current. Each diagram: the statuses a case can reach (with",
        "the clocks that run there), the steps that move it (coloured by who takes them);",
        "hover a status for the steps that leave it where it is.",
        "",
        "| code | name | decides | decision | appeal | appeal body | sensitivity | retention |",
        "|---|---|---|---|---|---|---|---|",
    ]
    services = [published(catalogue.service(code), catalogue) for code in catalogue.codes()]
    for s in services:
        lines.append(
            f"| `{s['code']}` | {s['name']['nb']} | {s['deciding_body']} | {_clock(s)} | "
            f"{_appeal(s)} | {_appeal_body(s)} | {s['sensitivity']} | "
            f"{s['retention']['rule']} |"
        )
    for s in services:
        lines += ["", f"## {s['name']['nb']} (`{s['code']}`)", "", s["description_nb"], ""]
        lines.append(f"- Nynorsk: {s['name']['nn']}; English: {s['name']['en']}")
        if s["former_name_nb"]:
            lines.append(f"- Formerly: {s['former_name_nb']}")
        lines.append(f"- Law: {', '.join(s['legal_basis'])}")
        lines.append(f"- Decided by: {s['deciding_body']}; appeals to: {_appeal_body(s)}")
        attachments = s["attachments"]
        lines.append(f"- Attach: {', '.join(attachments['required']) or 'nothing required'}")
        if attachments["optional"]:
            lines.append(f"- May attach: {', '.join(attachments['optional'])}")
        heard = s["consultations"]
        if heard["required"]:
            also = f"; may also ask {', '.join(heard['optional'])}" if heard["optional"] else ""
            lines.append(
                f"- Heard before the decision: {', '.join(heard['required'])}{also} "
                f"({heard['answer_days']} days to answer)"
            )
        if s["third_parties"]:
            lines.append(f"- Third parties: {', '.join(s['third_parties'])}")
        lines.append(f"- Retention: {s['retention']['rule']} — {s['retention']['source']}")
        if s["permit"]:
            permit = s["permit"]
            lines.append(f"- A permit runs {permit['valid_years']} years at most ({permit['law']})")
        if s["permit_purposes"]:
            lines.append(f"- A pbl permit first only for: {', '.join(s['permit_purposes'])}")
        if s["serving_hours"]:
            hours = "; ".join(f"group {g} {a}–{b}" for g, (a, b) in s["serving_hours"].items())
            lines.append(f"- Serving hours at most: {hours} (alkoholloven § 4-4)")
        for field, by_value in (s["variants"] or {}).items():
            for value, settings in by_value.items():
                said = ", ".join(f"{k} {v}" for k, v in settings.items())
                lines.append(f"- Where {field} is {value}: {said}")
        fields = ", ".join(f"`{f}`" for f in form_schema(s["code"])["properties"])
        lines.append(f"- Form fields: {fields}")
        lines += ["", *_process_table(catalogue.service(s["code"]))]
        lines += ["", f"![Saksgang for {s['name']['nb']}](process/{s['code']}.svg)"]
        lines.append(f"([BPMN 2.0](process/{s['code']}.bpmn), opens in bpmn.io)")
    return "\n".join(lines) + "\n"


def _process_table(service: Service) -> list[str]:
    """The service's process in one table, from its definition: each step with who takes it,
    its law and the letter it sends or receives; each clock with its law; then the end."""
    c = chart(service)
    letters: dict[str, list[str]] = {}
    for message in c.messages:
        way = "→" if message.outgoing else "←"
        letters.setdefault(c.nodes[message.task].name, []).append(
            f"{way} {c.parties[message.party]}: {message.name}"
        )
    rows = ["| step or clock | who | law | letters and notices |", "|---|---|---|---|"]
    seen: set[str] = set()
    order = columns(c)  # in the order of the process, as the diagram lays it out
    nodes = sorted(c.nodes.values(), key=lambda n: order.get(n.attached_to or n.id, 0))
    for node in nodes:
        if node.kind not in ("task", "timer", "boundary") or node.name in seen:
            continue
        seen.add(node.name)
        who = "klokke" if node.kind != "task" else node.actor.value
        sent = "; ".join(dict.fromkeys(letters.get(node.name, []))) or "–"
        name = node.name if node.kind == "task" else f"⏱ {node.name}"
        rows.append(f"| {name} | {who} | {node.law or '–'} | {sent} |")
    retention = service.retention
    rows.append(f"| ⏹ {retention.describe()} | arkivar | {retention.source} | – |")
    return rows


def _clock(s: dict[str, Any]) -> str:
    if not s["individual_decision"]:
        return "none (registered, not decided)"
    days = s["deadlines"]["decision_days"]
    law = " (law)" if s["deadlines"]["statutory"] else " (practice)"
    return f"{days} days{law}" if days else "as soon as possible"


def _appeal(s: dict[str, Any]) -> str:
    days = s["deadlines"]["appeal_days"]
    return f"{days} days from delivery" if days else "—"


def _appeal_body(s: dict[str, Any]) -> str:
    body = s["appeal_body"]
    return f"{body['name']} ({body['law']})" if body else "—"
