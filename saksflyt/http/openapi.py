"""The OpenAPI document with each service's form schema in place of a free ``object``: a form
builder or client generator sees what ``form`` may hold. Complete forms (a submission in one step)
by ``Form-<code>``; drafts and submissions that add to a draft by ``Form-<code>-partial``, the same
schema with nothing required (the rest may come in later saves; completeness is checked when the
case is submitted, as the domain does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from domain.forms import FORMS

REF = "#/components/schemas/{model}"
COMPLETE = ("NewApplication",)  # bodies whose form must be whole
PARTIAL = ("NewDraft", "DraftBody", "SubmitBody")


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
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
