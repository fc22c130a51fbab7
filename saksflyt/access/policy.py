"""Roles, what each may do, and where: pure rules, no I/O.

A caller is a ``Principal``: the token's subject, its roles, the municipalities (kommunenummer) it
acts for, and optionally the services it is limited to. Each endpoint needs one of a few
``Permission``s; a case-level endpoint also needs the case to lie in the caller's scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    SERVICE = "service"  # a form portal or another system sending commands
    CASEWORKER = "caseworker"  # saksbehandler: reads whole cases, acts on them
    ARCHIVIST = "archivist"  # arkivar: archive, shred, retention
    ANALYST = "analyst"  # read models and statistics, never personal data
    OPERATOR = "operator"  # metrics, health, rebuilds
    AUDITOR = "auditor"  # personvernombud / internkontroll: reads the access log
    APPLICANT = "applicant"  # innbygger logged in through ID-porten: their own cases' letters


class Permission(StrEnum):
    FILE = "file"  # open, fill in, submit, withdraw an application; add attachments
    ACT = "act"  # the case officer's steps: notices, requests, replies, decisions
    READ_CASE = "read-case"  # a whole case and its history (logged)
    READ_PERSONAL = "read-personal"  # personal data in a case's history (logged)
    RECORD = "record"  # archive or shred
    READ_MODELS = "read-models"  # lists, statistics, the dashboard
    OPERATE = "operate"  # /metrics
    AUDIT = "audit"  # the access log
    READ_OWN = "read-own"  # the letters of a case whose applicant the caller is (``pid``)


GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.SERVICE: frozenset({Permission.FILE}),
    Role.CASEWORKER: frozenset(
        {
            Permission.FILE,
            Permission.ACT,
            Permission.READ_CASE,
            Permission.READ_PERSONAL,
            Permission.READ_MODELS,
        }
    ),
    Role.ARCHIVIST: frozenset({Permission.RECORD, Permission.READ_CASE, Permission.READ_MODELS}),
    Role.ANALYST: frozenset({Permission.READ_MODELS}),
    Role.OPERATOR: frozenset({Permission.OPERATE}),
    Role.AUDITOR: frozenset({Permission.AUDIT}),
    Role.APPLICANT: frozenset({Permission.READ_OWN}),
}
ROLE_SCOPE_PREFIX = "saksflyt:"  # OAuth scopes (Maskinporten) name roles as saksflyt:<role>


class BadClaims(ValueError):
    """The token is genuine but its claims are not what saksflyt reads."""


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    kommuner: frozenset[str]
    services: frozenset[str] | None = None  # None: every service of its municipalities
    # an applicant's fødselsnummer (ID-porten's ``pid``): compared, never logged or shown
    person: str | None = field(default=None, repr=False)
    # the person's name as the identity provider gives it (OpenID Connect ``name``): what a
    # vedtak and the archive (saksansvarlig) record as the case officer
    name: str | None = None

    def owns(self, applicant: str | None) -> bool:
        """Whether the caller is the applicant (an applicant's role and the same identity)."""
        return (
            self.may(Permission.READ_OWN) and self.person is not None and self.person == applicant
        )

    def may(self, *permissions: Permission) -> bool:
        """Whether any of its roles grants any of ``permissions``."""
        return any(p in GRANTS[role] for role in self.roles for p in permissions)

    def covers(self, service: str, kommunenummer: str) -> bool:
        in_service = self.services is None or service in self.services
        return kommunenummer in self.kommuner and in_service

    @property
    def sees_personal_data(self) -> bool:
        return self.may(Permission.READ_PERSONAL)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Roles from ``roles`` (Entra ID app roles) and ``scope`` (``saksflyt:<role>``),
        municipalities from ``kommuner``, services from ``tjenester`` (optional)."""
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise BadClaims("sub must be a non-empty string")
        kommuner = _strings(claims.get("kommuner", []), "kommuner")
        if any(len(k) != 4 or not k.isdigit() for k in kommuner):
            raise BadClaims("kommuner must be four-digit kommunenummer")
        services = claims.get("tjenester")
        person = claims.get("pid")
        if person is not None and (not isinstance(person, str) or len(person) != 11):
            raise BadClaims("pid must be an 11-digit identity number")
        name = claims.get("name")
        if name is not None and (
            not isinstance(name, str)
            or not 0 < len(name) <= 200
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in name)
        ):
            raise BadClaims("name must be a person's name: 1 to 200 printable characters")
        return cls(
            subject=subject,
            roles=frozenset(_roles(claims)),
            kommuner=frozenset(kommuner),
            services=None if services is None else frozenset(_strings(services, "tjenester")),
            person=person,
            name=name,
        )

    def claims(self) -> dict[str, Any]:
        """The claims that describe it (for minting a token)."""
        out: dict[str, Any] = {
            "sub": self.subject,
            "roles": sorted(self.roles),
            "kommuner": sorted(self.kommuner),
        }
        if self.services is not None:
            out["tjenester"] = sorted(self.services)
        if self.person is not None:
            out["pid"] = self.person
        if self.name is not None:
            out["name"] = self.name
        return out


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadClaims(f"{name} must be a list of strings")
    return value


def _roles(claims: Mapping[str, Any]) -> Iterable[Role]:
    named = _strings(claims.get("roles", []), "roles")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise BadClaims("scope must be a space-separated string")
    scoped = [
        s.removeprefix(ROLE_SCOPE_PREFIX) for s in scope.split() if s.startswith(ROLE_SCOPE_PREFIX)
    ]
    known = {r.value for r in Role}
    return (Role(name) for name in (*named, *scoped) if name in known)
