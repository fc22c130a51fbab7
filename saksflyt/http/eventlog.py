"""``GET /eventlog``: the cases an analyst may see as an event log for process mining, XES or
OCEL 2.0 (``saksflyt.eventlog``): activities, times and roles, never a personal value."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from saksflyt import eventlog
from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.http import models as m
from saksflyt.http.auth import permit, scope_of
from saksflyt.http.problems import ApiProblem
from saksflyt.http.services import services

router = APIRouter(tags=["process mining"], responses=m.problem_responses(401, 403, 422))
Reader = Annotated[Principal, permit(P.READ_MODELS)]
MEDIA = {"xes": "application/xml", "ocel": "application/json"}
SUFFIX = {"xes": "xes", "ocel": "jsonocel"}


@router.get(
    "/eventlog",
    summary="The cases as an event log (XES or OCEL 2.0)",
    response_class=Response,
    responses={
        200: {
            "description": "one trace per case: activity, time, lifecycle, role",
            "content": {"application/xml": {}, "application/json": {}},
        }
    },
)
def event_log(
    request: Request,
    who: Reader,
    format: Annotated[Literal["xes", "ocel"], Query(description="xes or ocel")] = "xes",
    service: str | None = None,
    municipality: Annotated[
        str | None, Query(pattern=r"^\d{4}$", description="kommunenummer")
    ] = None,
) -> Response:
    """Within the caller's municipalities and services; the activities are the tasks of the
    services' published BPMN (``GET /services/{code}/process.bpmn``), so the log replays
    against it."""
    s = services(request)
    if service is not None and service not in s.app.catalogue.codes():
        raise ApiProblem(422, "unknown-service", f"no service {service!r} in the catalogue")
    scope = scope_of(who, municipality)
    log = eventlog.traces(s.app, service, municipality, within=scope)
    out = io.BytesIO()
    eventlog.write(out, log, format)
    name = f"saksflyt-{service or 'alle'}-{municipality or 'kommuner'}.{SUFFIX[format]}"
    return Response(
        out.getvalue(),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
