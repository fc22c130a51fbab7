"""Value objects: groups of fields that always travel together through commands and the aggregate."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
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
    """What a vedtak says: the outcome, the legal basis it rests on, and who made it."""

    outcome: Outcome
    legal_basis: str
    case_officer: str


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
