"""The published service catalogue, open to anyone: ``GET /services``, ``/services/{code}``,
``/services/{code}/form-schema`` (the JSON Schema a form builder validates against) and the
process model as ``/services/{code}/process.svg`` and ``/services/{code}/process.bpmn``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from domain.errors import InvalidIdentifier, UnknownService
from domain.places import Kommunenummer
from domain.services import Service
from saksflyt.catalogue import process
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
    _service(request, code)
    return published(catalogue.service(code, kommune), catalogue, kommune)


@router.get(
    "/services/{code}/form-schema",
    summary="The JSON Schema of the service's form",
    responses=UNKNOWN,
)
def get_form_schema(request: Request, code: str) -> dict[str, Any]:
    _service(request, code)
    return form_schema(code)


def _service(request: Request, code: str) -> Service:
    try:
        return services(request).app.catalogue.service(code)
    except UnknownService as error:
        raise ApiProblem(404, "unknown-service", str(error)) from None


DIAGRAM = {**UNKNOWN, 200: {"content": {"image/svg+xml": {}}, "description": "the diagram"}}
BPMN = {**UNKNOWN, 200: {"content": {"application/bpmn+xml": {}}, "description": "BPMN 2.0"}}


@router.get(
    "/services/{code}/process.svg",
    summary="The service's process as a diagram, drawn from the domain's step table",
    response_class=Response,
    responses=DIAGRAM,
)
def get_process_svg(request: Request, code: str) -> Response:
    return Response(process.svg(_service(request, code)), media_type="image/svg+xml")


@router.get(
    "/services/{code}/process.bpmn",
    summary="The service's process as BPMN 2.0 XML with its diagram (opens in bpmn.io)",
    response_class=Response,
    responses=BPMN,
)
def get_process_bpmn(request: Request, code: str) -> Response:
    xml = process.bpmn(_service(request, code))
    disposition = f'inline; filename="{code}.bpmn"'
    return Response(
        xml, media_type="application/bpmn+xml", headers={"Content-Disposition": disposition}
    )
