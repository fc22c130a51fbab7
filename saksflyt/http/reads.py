"""Read endpoints: the read models with filters and pagination, a case's history, health."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import AwareDatetime

from domain.lifecycle import Status
from domain.personal import ERASED
from projections import queries
from saksflyt.access.log import Access
from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.http import models as m
from saksflyt.http.auth import (
    CaseCaller,
    OptionalPurpose,
    Purpose,
    forbidden,
    metrics_caller,
    permit,
    permit_case,
    scope_of,
)
from saksflyt.http.problems import ApiProblem
from saksflyt.http.services import services
from saksflyt.ops.health import run_checks
from saksflyt.ops.metrics import TELEMETRY, metrics_payload
from saksflyt.output import ParquetMissing, to_csv, write_parquet
from schemas.mapping import to_latest_public_event
from schemas.registry import default_registry

router = APIRouter(responses=m.problem_responses(422))
AUTH = m.problem_responses(401, 403)
NOT_FOUND = m.problem_responses(401, 403, 404)
REDACTED = "[personal data]"
PERSONAL_COLUMNS = ("applicant_ref",)  # a pseudonym is still personal data (GDPR recital 26)
Reader = Annotated[Principal, permit(P.READ_MODELS)]
CaseReader = Annotated[CaseCaller, permit_case(P.READ_CASE)]


def filter_params(
    who: Reader,
    service: str | None = None,
    municipality: Annotated[
        str | None, Query(pattern=r"^\d{4}$", description="kommunenummer")
    ] = None,
    status: str | None = None,
    date_from: Annotated[m.IsoDate | None, Query(alias="from")] = None,
    date_to: Annotated[m.IsoDate | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> queries.Filters:
    scope = scope_of(who, municipality)
    return queries.Filters(service, municipality, status, date_from, date_to, limit, offset, scope)


Filters = Annotated[queries.Filters, Depends(filter_params)]


def current_read_models(
    request: Request,
    who: Reader,
    wait_for: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-fA-F-]{36}:[1-9][0-9]{0,8}$",
            description="case_id:version, as a command's answer gave them: answered only once "
            "the read models show that version of the case (425 and Retry-After until then)",
        ),
    ] = None,
) -> None:
    """Read-your-writes: see ``Services.read_models_current``."""
    case = None
    if wait_for is not None:
        case_id, version = wait_for.rsplit(":", 1)
        try:
            case = (UUID(case_id), int(version))
        except ValueError:
            raise ApiProblem(422, "invalid-wait-for", "wait_for is case_id:version") from None
    services(request).read_models_current(case, scope_of(who))


CURRENT = [Depends(current_read_models)]


Format = Annotated[
    Literal["json", "csv", "parquet"],
    Query(description="json (default), or a download: csv, parquet (needs saksflyt[parquet])"),
]
CURRENT_RESPONSES = m.problem_responses(425, 503)  # wait_for not shown yet; read models behind
PAGED = {
    **AUTH,
    **CURRENT_RESPONSES,
    200: {
        "description": "a page of rows; X-Total-Count and a Link to the next page in the headers",
        "headers": {
            "X-Total-Count": {
                "description": "rows under these filters, all pages",
                "schema": {"type": "integer"},
            },
            "Link": {
                "description": 'RFC 8288: <…&offset=N>; rel="next" while there are more',
                "schema": {"type": "string"},
            },
        },
        "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
    },
}


def _answer(
    request: Request, view: str, rows: list[dict[str, Any]], filters: queries.Filters, fmt: str
) -> Any:
    """The rows as JSON with the paging headers, or as a CSV or Parquet download."""
    db = services(request).store.db
    total = queries.count(db, view, filters) if view in queries.PAGED else len(rows)
    limit, offset = filters.page
    headers = {"X-Total-Count": str(total)}
    if offset + len(rows) < total:
        following = request.url.include_query_params(offset=offset + limit, limit=limit)
        headers["Link"] = f'<{following}>; rel="next"'
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{view}.csv"'
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    if fmt == "parquet":
        buffer = io.BytesIO()
        try:
            write_parquet(rows, buffer)
        except ParquetMissing as missing:
            raise ApiProblem(503, "parquet-not-installed", str(missing)) from None
        headers["Content-Disposition"] = f'attachment; filename="{view}.parquet"'
        return Response(
            buffer.getvalue(), media_type="application/vnd.apache.parquet", headers=headers
        )
    return JSONResponse(jsonable_encoder(rows), headers=headers)


@router.get(
    "/overview",
    dependencies=CURRENT,
    tags=["read models"],
    summary="One row per case",
    responses=PAGED,
    response_model=list[m.OverviewRow],  # type: ignore[valid-type]
)
def overview(
    request: Request, filters: Filters, who: Reader, format: Format = "json"
) -> list[dict[str, Any]]:
    """The pseudonymous applicant reference only for a caseworker."""
    rows = queries.overview(services(request).store.db, filters)
    if not who.sees_personal_data:
        rows = [{k: v for k, v in row.items() if k not in PERSONAL_COLUMNS} for row in rows]
    return _answer(request, "overview", rows, filters, format)  # type: ignore[no-any-return]


@router.get(
    "/stats",
    dependencies=CURRENT,
    tags=["read models"],
    summary="Counts and days to decision",
    responses=PAGED,
    response_model=list[m.StatsRow],  # type: ignore[valid-type]
)
def stats(
    request: Request, filters: Filters, per_day: bool = False, format: Format = "json"
) -> list[dict[str, Any]]:
    """Per service and municipality (``per_day``: also per day), with median and p90 days."""
    rows = queries.stats(services(request).store.db, filters, group_by_day=per_day)
    view = "stats" if per_day else "stats-totals"  # totals: every row on one page
    return _answer(request, view, rows, filters, format)  # type: ignore[no-any-return]


@router.get(
    "/deadlines",
    dependencies=CURRENT,
    tags=["read models"],
    summary="Open work by nearest deadline",
    responses=PAGED,
    response_model=list[m.DeadlineRow],  # type: ignore[valid-type]
)
def deadlines(request: Request, filters: Filters, format: Format = "json") -> list[dict[str, Any]]:
    rows = queries.deadlines(services(request).store.db, filters)
    return _answer(request, "deadlines", rows, filters, format)  # type: ignore[no-any-return]


@router.get(
    "/neighbours",
    dependencies=CURRENT,
    tags=["read models"],
    summary="Neighbour notices and their answers",
    responses=PAGED,
    response_model=list[m.NeighbourRow],  # type: ignore[valid-type]
)
def neighbours(request: Request, filters: Filters, format: Format = "json") -> list[dict[str, Any]]:
    rows = queries.neighbours(services(request).store.db, filters)
    return _answer(request, "neighbours", rows, filters, format)  # type: ignore[no-any-return]


@router.get(
    "/applications/{case_id}",
    tags=["cases"],
    summary="A case now, or as it stood",
    responses=NOT_FOUND,
    response_model=m.CaseOut,
)
def get_case(
    request: Request,
    case_id: UUID,
    c: CaseReader,
    purpose: Purpose,
    as_of: AwareDatetime | None = None,
) -> dict[str, Any]:
    """Recorded in the access log with the purpose given."""
    log_read(request, c, "case", purpose)
    app = services(request).app
    case = app.case_as_of(case_id, as_of) if as_of else app.get_case(case_id)
    return {
        "case_id": str(case.id),
        "version": case.version,
        "service": case.service,
        "kommunenummer": case.kommunenummer,
        "status": case.status.value,
        "created_at": case.created_at,
        "submitted_at": case.submitted_at,
        "decision_deadline": case.decision_deadline,
        "decision": case.decision,
        "preliminary_reply_due": case.preliminary_reply_due,
        "attachments": [
            {k: v for k, v in a.items() if k != "storage_ref"} for a in case.attachments
        ],
        "neighbours_notified": len(case.neighbours),
        "neighbour_deadline": case.neighbour_deadline,
        "archive_reference": case.archive_reference,
    }


@router.get(
    "/applications/{case_id}/events",
    tags=["cases"],
    summary="The case's history",
    responses=NOT_FOUND,
    response_model=list[m.EventOut],
)
def case_events(
    request: Request,
    case_id: UUID,
    c: CaseReader,
    purpose: Purpose,
    include_personal_data: bool = False,
) -> list[dict[str, Any]]:
    """Every event as its public record. Fields marked as personal data in the schema are
    redacted unless ``include_personal_data`` is set (a caseworker's role only); after
    kassasjon they read ``[kassert]`` whatever is asked. Recorded in the access log."""
    if include_personal_data and not c.who.sees_personal_data:
        raise forbidden("role-not-permitted", "personal data needs a caseworker's role")
    log_read(request, c, "history+personal" if include_personal_data else "history", purpose)
    s = services(request)
    registry = default_registry()
    history = list(s.app.history(case_id))
    created = history[0]
    hidden = ERASED if s.vault.is_erased(case_id) else None
    hidden = hidden or (None if include_personal_data else REDACTED)
    out = []
    for event in history:
        public = to_latest_public_event(event, created.service, created.kommunenummer, registry)  # type: ignore[attr-defined]
        personal = {f["name"] for f in registry.latest(public.name).raw["fields"] if "pii" in f}
        record = {k: (hidden if k in personal and hidden else v) for k, v in public.record.items()}
        out.append({"type": public.name, "ce_type": public.ce_type, **record})
    return out


@router.get(
    "/applications/{case_id}/draft",
    tags=["cases"],
    summary="A draft read back: the form as saved",
    responses=m.problem_responses(401, 403, 404, 409),
    response_model=m.DraftOut,
)
def get_draft(
    request: Request,
    case_id: UUID,
    c: Annotated[CaseCaller, permit_case(P.FILE)],
    purpose: OptionalPurpose = None,
) -> dict[str, Any]:
    """For the form portal (or a caseworker) to let the applicant go on where they stopped:
    the form as saved so far, nested sections merged, and the attachments. Logged."""
    case = services(request).app.get_case(case_id)
    if case.status is not Status.DRAFT:
        raise ApiProblem(409, "not-a-draft", f"the case is {case.status.value}, not a draft")
    log_read(request, c, "draft", purpose or "the applicant goes on with a draft")
    return {
        "case_id": str(case.id),
        "service": case.service,
        "form": case.form,
        "attachments": [
            {k: v for k, v in a.items() if k != "storage_ref"} for a in case.attachments
        ],
        "saved_at": case.last_event_at,
    }


def log_read(request: Request, c: CaseCaller, action: str, purpose: str) -> None:
    """Into the access log before anything is answered: a read not logged is not served."""
    roles = ",".join(sorted(c.who.roles))
    access = Access(c.who.subject, roles, c.case_id, c.service, c.kommunenummer, action, purpose)
    services(request).access_log.record(access)
    TELEMETRY.case_read(action)


@router.get("/healthz", tags=["operations"], summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["operations"],
    summary="Dependencies are reachable",
    responses={503: {"description": "A dependency is not reachable"}},
)
def readyz(request: Request) -> JSONResponse:
    s = services(request)
    ready, checks = run_checks(
        {
            "event_store": s.app.recorder.max_notification_id,
            "projections": lambda: queries.status(s.store.db),
        }
    )
    said: dict[str, Any] = {"ready": ready, "checks": checks}
    if s.settings.auth_dev_key is not None:  # ready, but not for production
        said["warnings"] = ["development token key trusted (SAKSFLYT_AUTH_DEV_KEY)"]
    # an identity provider down is not this process's fault: said, never a 503 (every replica
    # would leave the load balancer, and the callers of the other issuers with them)
    if keys := request.app.state.tokens.key_status():
        said["identity_providers"] = keys
    return JSONResponse(said, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **AUTH},
)
def metrics(request: Request, _: Annotated[None, Depends(metrics_caller)]) -> Response:
    payload = metrics_payload(services(request).settings.prometheus_multiproc_dir)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
