"""``/access-log``: who read which case, for an auditor of the same municipalities."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from saksflyt.access import log
from saksflyt.access.policy import Permission as P
from saksflyt.access.policy import Principal
from saksflyt.http import models as m
from saksflyt.http.auth import permit, scope_of
from saksflyt.http.services import services
from saksflyt.records import records_database

router = APIRouter(tags=["audit"], responses=m.problem_responses(401, 403, 422))


@router.get(
    "/access-log",
    summary="Reads of whole cases: who, when, why",
    response_model=list[m.AccessRow],  # type: ignore[valid-type]
)
def access_log(
    request: Request,
    who: Annotated[Principal, permit(P.AUDIT)],
    case_id: UUID | None = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Oldest first; ``case_id`` answers "who has read this case" (GDPR art. 15)."""
    kommuner = scope_of(who).kommuner
    db = records_database(services(request).settings)
    try:
        return log.entries(db, case_id, subject, since, kommuner, limit, offset)
    finally:
        db.close()
