"""The published service catalogue, open to anyone: ``GET /services``, ``/services/{code}`` and
``/services/{code}/form-schema`` (the JSON Schema a form builder validates against)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from domain.errors import InvalidIdentifier, UnknownService
from domain.places import Kommunenummer
from saksflyt.catalogue.published import form_schema, published
from saksflyt.http import models as m
from saksflyt.http.problems import ApiProblem
from saksflyt.http.services import services

router = APIRouter(tags=["catalogue"])
Municipality = Annotated[
    str | None,
    Query(pattern=r"^\d{4}$", description="kommunenummer: that municipality's settings applied"),
]
UNKNOWN = m.problem_responses(404, 422)


def _municipality(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return Kommunenummer.parse(value).value
    except InvalidIdentifier as error:
        raise ApiProblem(404, "unknown-municipality", str(error)) from None


@router.get("/services", summary="Every service: law, clocks, attachments, form", responses=UNKNOWN)
def list_services(request: Request, municipality: Municipality = None) -> list[dict[str, Any]]:
    catalogue = services(request).app.catalogue
    kommune = _municipality(municipality)
    return [published(catalogue.service(c, kommune), catalogue, kommune) for c in catalogue.codes()]


@router.get("/services/{code}", summary="One service as published", responses=UNKNOWN)
def get_service(request: Request, code: str, municipality: Municipality = None) -> dict[str, Any]:
    catalogue = services(request).app.catalogue
    kommune = _municipality(municipality)
    try:
        return published(catalogue.service(code, kommune), catalogue, kommune)
    except UnknownService as error:
        raise ApiProblem(404, "unknown-service", str(error)) from None


@router.get(
    "/services/{code}/form-schema",
    summary="The JSON Schema of the service's form",
    responses=UNKNOWN,
)
def get_form_schema(request: Request, code: str) -> dict[str, Any]:
    catalogue = services(request).app.catalogue
    try:
        catalogue.service(code)
    except UnknownService as error:
        raise ApiProblem(404, "unknown-service", str(error)) from None
    return form_schema(code)
