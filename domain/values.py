"""Value objects: groups of fields that always travel together through commands and the aggregate."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any
from uuid import UUID

from domain.lifecycle import Outcome


@dataclass(frozen=True, slots=True)
class Attachment:
    """A vedlegg: its metadata and where its bytes are kept — never the bytes themselves."""

    attachment_id: UUID
    kind: str
    media_type: str
    size: int
    sha256: str
    storage_ref: str

    def as_record(self) -> dict[str, Any]:
        """The fields as the ``AttachmentAdded`` event stores them (a pinned contract)."""
        return asdict(self)


ATTACHMENT_FIELDS = tuple(f.name for f in fields(Attachment))


@dataclass(frozen=True, slots=True)
class Decision:
    """What a vedtak says: the outcome, the rules it rests on (``legal_basis``), who made it,
    and its reasons (fvl §§ 24-25): the facts it builds on and the main considerations — required
    for a refusal or a partial grant. A permit granted for a time says until when
    (``valid_until``; a service with ``permit_valid_years`` gives one by default)."""

    outcome: Outcome
    legal_basis: str
    case_officer: str
    facts: str | None = None
    considerations: str | None = None
    valid_until: date | None = None

    @property
    def reasoned(self) -> bool:
        return bool(self.facts and self.facts.strip()) and bool(
            self.considerations and self.considerations.strip()
        )


DECISION_FIELDS = tuple(f.name for f in fields(Decision))

NEIGHBOUR_ROLES = ("nabo", "gjenboer")  # pbl § 21-3: neighbours and those across the road


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A party to a nabovarsel: the property by its matrikkelnummer, and who owns it where."""

    matrikkelnummer: str
    navn: str
    adresse: str
    rolle: str = "nabo"  # nabo | gjenboer

    def as_record(self) -> dict[str, str]:
        return asdict(self)
