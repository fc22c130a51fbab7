"""Who is calling, and may they: the bearer token, the role it grants, the case's scope.

Each route names what it needs with a dependency: ``permit(...)`` (a role granting one of the
permissions) or ``permit_case(...)`` (that, and the case in the caller's municipalities and
services). The checks run before the request body is read, in this order: no or bad token 401,
role not allowed 403, unknown case or a case outside the caller's scope 404 (the same answer:
nothing is learnt of another municipality's cases). Every 403 and every case outside the scope
is written to the access log first. Health checks need no token; ``/metrics`` needs an
operator unless ``SAKSFLYT_METRICS_OPEN`` is set.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.errors import CaseNotFound
from domain.forms import applicant_identifier
from projections.queries import Scope
from saksflyt.access.log import Access
from saksflyt.access.policy import Permission, Principal
from saksflyt.access.tokens import InvalidToken, KeysUnavailable, TokenVerifier
from saksflyt.http.problems import ApiProblem
from saksflyt.ops.metrics import TELEMETRY

if TYPE_CHECKING:
    from domain.casework import Casework

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A JWT from the municipality's identity provider (docs/security.md)",
)
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # no control characters into the audit trail
NO_CASE = UUID(int=0)  # the access log's case for a refusal that names none


def purpose_header(description: str) -> Any:
    """The ``Access-Purpose`` header: why a case is read, 3–200 printable characters."""
    return Header(
        alias="Access-Purpose",
        min_length=3,
        max_length=200,
        pattern=PRINTABLE,
        description=description,
    )


Purpose = Annotated[
    str,
    purpose_header("Why you read this case (kept in the access log; never personal data)"),
]
OptionalPurpose = Annotated[
    str | None,
    purpose_header(
        "Why you read this case (kept in the access log); may be left out where the endpoint "
        "names the reason itself"
    ),
]


@dataclass(frozen=True)
class CaseCaller:
    """A caller allowed to touch this case, and where the case lies."""

    who: Principal
    case_id: UUID
    service: str
    kommunenummer: str
    own: bool = False  # the caller is the case's applicant


def unauthenticated(code: str, detail: str) -> ApiProblem:
    TELEMETRY.access_refused(code)
    challenge = f'Bearer realm="saksflyt", error="invalid_token", error_description="{detail}"'
    return ApiProblem(401, code, detail, headers={"WWW-Authenticate": challenge})


def keys_unavailable(cooldown_s: float) -> ApiProblem:
    """503: the token may be genuine, but its issuer's keys cannot be fetched now."""
    return ApiProblem(
        503,
        "identity-provider-unreachable",
        "the identity provider's keys cannot be fetched now; try again shortly",
        headers={"Retry-After": str(max(1, math.ceil(cooldown_s)))},
    )


def forbidden(code: str, detail: str) -> ApiProblem:
    TELEMETRY.access_refused(code)
    return ApiProblem(403, code, detail)


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller (async: FastAPI runs a plain function on a worker thread, a hop that costs
    more than the check; the token is checked off the event loop only if keys may be fetched)."""
    known = getattr(request.state, "principal", None)  # the gate checked it before the body
    if isinstance(known, Principal):
        return known
    if credentials is None:
        raise unauthenticated("token-missing", "send Authorization: Bearer <token>")
    verifier: TokenVerifier = request.app.state.tokens
    try:
        if verifier.fetches_keys:
            return await to_thread.run_sync(verifier.principal, credentials.credentials)
        return verifier.principal(credentials.credentials)
    except InvalidToken as refused:
        raise unauthenticated(refused.code, refused.detail) from None
    except KeysUnavailable:
        cooldown = request.app.state.services.settings.auth_jwks_cooldown_seconds
        raise keys_unavailable(cooldown) from None


Caller = Annotated[Principal, Depends(caller)]


def refused(
    request: Request,
    who: Principal,
    code: str,
    detail: str,
    case: tuple[UUID, str, str] = (NO_CASE, "", ""),
) -> Exception:
    """A 403, first written to the access log (who, the rule, the route, the case if any; never
    what was asked for): refused attempts leave a trace an auditor can follow. A case outside
    the caller's scope is answered as one that does not exist (404 ``case-not-found``, the same
    body): the caller learns nothing of another municipality's cases."""
    case_id, service, kommunenummer = case
    if case_id == NO_CASE and len(who.kommuner) == 1:  # where an auditor of it will look
        (kommunenummer,) = who.kommuner
    purpose = request.headers.get("Access-Purpose", "")
    purpose = purpose if re.fullmatch(PRINTABLE, purpose or "-") else "(unprintable)"
    route = getattr(request.scope.get("route"), "path", "?")
    action = f"refused {code}: {request.method} {route}"
    roles = ",".join(sorted(who.roles))
    request.app.state.services.access_log.record(
        Access(who.subject, roles, case_id, service, kommunenummer, action, purpose[:200])
    )
    if code == "outside-scope" and case_id != NO_CASE:
        TELEMETRY.access_refused(code)
        return CaseNotFound(case_id)
    return forbidden(code, detail)


def permit(*permissions: Permission) -> Any:
    """A dependency: the caller, if one of its roles grants one of ``permissions``."""

    async def allowed(request: Request, who: Caller) -> Principal:  # async: as ``caller``
        if not who.may(*permissions):
            detail = f"needs a role that may {_names(permissions)}"
            # the refusal is written to the access log: off the event loop
            raise await to_thread.run_sync(refused, request, who, "role-not-permitted", detail)
        return who

    return Depends(allowed)


def permit_case(*permissions: Permission) -> Any:
    """A dependency: as ``permit``, and the case lies in the caller's scope."""

    role_check = permit(*permissions)

    # (a default, not Annotated: string annotations cannot see this closure's names)
    async def allowed(request: Request, case_id: UUID, who: Principal = role_check) -> CaseCaller:
        service, kommunenummer = await _case_scope(request, case_id)
        if not who.covers(service, kommunenummer):
            why = "the case lies outside your municipalities or services"
            case = (case_id, service, kommunenummer)
            raise await to_thread.run_sync(refused, request, who, "outside-scope", why, case)
        return CaseCaller(who, case_id, service, kommunenummer)

    return Depends(allowed)


def permit_own_case() -> Any:
    """A dependency: a reader of whole cases in its scope, or the case's own applicant."""

    role_check = permit(Permission.READ_CASE, Permission.READ_OWN)

    async def allowed(request: Request, case_id: UUID, who: Principal = role_check) -> CaseCaller:
        service, kommunenummer = await _case_scope(request, case_id)
        if who.may(Permission.READ_CASE) and who.covers(service, kommunenummer):
            return CaseCaller(who, case_id, service, kommunenummer)
        return await to_thread.run_sync(_own_case, request, who, case_id, service, kommunenummer)

    return Depends(allowed)


async def _case_scope(request: Request, case_id: UUID) -> tuple[str, str]:
    """The case's (service, kommunenummer): kept in memory once seen (a case's scope never
    changes), else read on a worker thread — an unknown case raises ``CaseNotFound`` (404)."""
    app: Casework = request.app.state.services.app
    known = app.known_scope(case_id)
    return known if known is not None else await to_thread.run_sync(app.case_scope, case_id)


def _own_case(
    request: Request, who: Principal, case_id: UUID, service: str, kommunenummer: str
) -> CaseCaller:
    """The applicant's own case (its form names them), else refused (and the refusal logged)."""
    app = request.app.state.services.app
    applicant = who.may(Permission.READ_OWN)
    if applicant and who.owns(applicant_identifier(app.get_case(case_id).form)):
        return CaseCaller(who, case_id, service, kommunenummer, own=True)
    code, why = (
        ("not-your-case", "only the applicant may read this case's letters")
        if applicant
        else ("outside-scope", "the case lies outside your municipalities or services")
    )
    raise refused(request, who, code, why, (case_id, service, kommunenummer))


def require_scope(who: Principal, service: str, kommunenummer: str) -> None:
    """For a new case: the caller may open one for this municipality and service."""
    if not who.covers(service, kommunenummer):
        raise forbidden("outside-scope", "that municipality or service is outside your scope")


def scope_of(who: Principal, municipality: str | None = None) -> Scope:
    """The rows the caller may list; asking for a municipality outside it is refused."""
    if municipality is not None and municipality not in who.kommuner:
        raise forbidden("outside-scope", "that municipality is outside your scope")
    services = None if who.services is None else tuple(sorted(who.services))
    return Scope(tuple(sorted(who.kommuner)), services)


async def metrics_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """/metrics: open when configured so, otherwise for operators."""
    if request.app.state.services.settings.metrics_open:
        return
    if not (await caller(request, credentials)).may(Permission.OPERATE):
        raise forbidden("role-not-permitted", "needs a role that may operate")


def _names(permissions: tuple[Permission, ...]) -> str:
    return " or ".join(p.value for p in permissions)
