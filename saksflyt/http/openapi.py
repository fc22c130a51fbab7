"""The OpenAPI document with each service's form schema in place of a free ``object``: a form
builder or client generator sees what ``form`` may hold. Complete forms (a submission in one step)
by ``Form-<code>``; drafts and submissions that add to a draft by ``Form-<code>-partial``, the same
schema with nothing required (the rest may come in later saves; completeness is checked when the
case is submitted, as the domain does).

A body that names its service (``NewApplication``, ``NewDraft``) is an ``anyOf`` keyed by
``service`` (a discriminator): one variant per service, its ``form`` that service's schema. Every
``kommunenummer`` and ``municipality`` says it is one of the 2024 municipalities. An optional header
or query parameter is its type, not "that type or null": a header cannot be null."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from domain.forms import FORMS
from domain.places import municipalities

REF = "#/components/schemas/{model}"
COMPLETE = ("NewApplication",)  # bodies whose form must be whole
PARTIAL = ("NewDraft", "DraftBody", "SubmitBody")
KEYED = ("NewApplication", "NewDraft")  # bodies that name their service
MUNICIPAL = ("kommunenummer", "municipality")


def form_components() -> dict[str, dict[str, Any]]:
    """``Form-<code>`` and ``Form-<code>-partial`` for every service, with the models they use."""
    components: dict[str, dict[str, Any]] = {}
    for code, model in FORMS.items():
        whole = model.model_json_schema(ref_template=REF)
        components.update(whole.pop("$defs", {}))
        components[f"Form-{code}"] = whole
        partial = model.model_json_schema(ref_template=REF.replace("}", "}-partial"))
        for name, schema in partial.pop("$defs", {}).items():
            components[f"{name}-partial"] = _optional(schema)
        components[f"Form-{code}-partial"] = _optional(partial)
    return components


def _optional(schema: Any) -> Any:
    """The schema with no ``required`` anywhere in it."""
    if isinstance(schema, dict):
        return {k: _optional(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_optional(v) for v in schema]
    return schema


def _forms(suffix: str) -> dict[str, Any]:
    refs = [{"$ref": REF.format(model=f"Form-{code}{suffix}")} for code in FORMS]
    return {
        "anyOf": refs,
        "description": "the form of the service named by `service` (or the case's service); "
        "GET /services/{code}/form-schema gives one service's schema alone",
    }


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that puts the form schemas in."""
    plain: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = plain()  # FastAPI's own, kept as app.openapi_schema: completed here
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(form_components())
            for body in (*COMPLETE, *PARTIAL):
                suffix = "" if body in COMPLETE else "-partial"
                schemas[body]["properties"]["form"] = {**_forms(suffix), "title": "Form"}
            for body in KEYED:
                schemas.update(_keyed(body, schemas[body], "" if body in COMPLETE else "-partial"))
            _municipalities(document)
            _no_null_parameters(document)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _keyed(body: str, schema: dict[str, Any], suffix: str) -> dict[str, Any]:
    """``body`` as a oneOf of one variant per service, told apart by ``service``."""
    variants = {}
    for code in FORMS:
        variant = {**schema, "title": f"{body} ({code})"}
        variant["properties"] = {
            **schema["properties"],
            "service": {"type": "string", "const": code, "title": "Service"},
            "form": {"$ref": REF.format(model=f"Form-{code}{suffix}"), "title": "Form"},
        }
        variants[f"{body}-{code}"] = variant
    keyed = {
        "title": body,
        # anyOf: the variants exclude each other by their const ``service`` already, and a
        # generator need not prove that for every body it makes (oneOf took schemathesis twice
        # as long)
        "anyOf": [{"$ref": REF.format(model=name)} for name in variants],
        "discriminator": {
            "propertyName": "service",
            "mapping": {code: REF.format(model=f"{body}-{code}") for code in FORMS},
        },
    }
    return {**variants, body: keyed}


def _municipalities(document: dict[str, Any]) -> None:
    """Every kommunenummer property and municipality parameter: four digits, documented as one
    of the 2024 structure's (an enum of 357 made the fuzzer's run twice as long for nothing a
    client needs: the list is GET /services' business, and a wrong one is refused 422)."""
    said = {
        "pattern": "^[0-9]{4}$",
        "description": f"kommunenummer of the 2024 structure ({len(municipalities())} "
        "municipalities, e.g. 0301 Oslo, 4601 Bergen); another number is refused "
        "(422 invalid-identifier)",
        "examples": ["0301", "4601"],
    }
    for schema in document["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            if name in MUNICIPAL and prop.get("type") == "string":
                prop.update(said)
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in MUNICIPAL:
                    parameter["schema"] = {**_plain(parameter["schema"]), **said}


def _no_null_parameters(document: dict[str, Any]) -> None:
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _plain(parameter["schema"])


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` as X (with the title and description kept)."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**kept[0], **rest}
