"""Which stored facts are personal, and the mapper that seals them with the case's own key.

Every stored event attribute that holds personal data (forms, addresses, neighbours, free text)
is sealed before it is stored — in events and snapshots alike — with a data key that belongs to
the case, through a ``Vault`` (the port; ``saksflyt.privacy`` implements it with a key ring the
municipality holds). Non-personal facts (service, municipality, times, outcome) stay readable, so
statistics survive kassasjon. When the case's key is destroyed the sealed values can never be
opened again: they read as ``[kassert]`` (text) or ``{}`` (forms).

The attributes listed here are the ones the public schemas mark ``pii`` (a test keeps them equal).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.chain import ChainedMapper

ERASED = "[kassert]"
CREATED = "saksflyt.application.created"
# stored topic -> {attribute: kind}; kinds: "text" (str), "texts" (list of str), "json" (a form)
PERSONAL: dict[str, dict[str, str]] = {
    "saksflyt.application.draft-saved": {"form": "json"},
    "saksflyt.application.contact-requested": {"contact": "json"},
    "saksflyt.application.submitted": {"form": "json"},
    "saksflyt.application.receipt-sent": {"address": "text"},
    "saksflyt.application.missing-documents-requested": {"reason": "text"},
    "saksflyt.application.neighbour-notice-sent": {"neighbours": "texts", "parties": "json"},
    "saksflyt.application.neighbour-comment-received": {"neighbour": "text"},
    "saksflyt.application.neighbour-consent-received": {"neighbour": "text"},
    "saksflyt.application.preliminary-reply-sent": {"reason": "text"},
    "saksflyt.application.decision-made": {"facts": "text", "considerations": "text"},
    "saksflyt.application.withdrawn": {"reason": "text"},
}
# the aggregate's own state, as a snapshot keeps it
PERSONAL_STATE = {
    "form": "json",
    "contact": "json",
    "neighbours": "texts",
    "neighbour_responses": "json",
    "neighbour_parties": "json",
    "late_comments": "texts",
    "reasons": "json",
}


@dataclass(frozen=True)
class ErasureRequest:
    """Kassasjon of one case: who asked, why, and the non-personal facts that stay."""

    case_id: UUID
    service: str
    kommunenummer: str
    reason: str
    actor: str


class Vault(Protocol):
    """Seals and opens one case's personal values; destroys a case's key on erasure."""

    def open_case(self, case_id: UUID, kommunenummer: str) -> None:
        """Make the case's data key (once), wrapped by its municipality's key."""

    def open_cases(self, cases: Sequence[tuple[UUID, str]]) -> None:
        """``open_case`` for many new cases (case id, kommunenummer) in one transaction."""

    def seal(self, case_id: UUID, name: str, plain: str) -> str: ...

    def open(self, case_id: UUID, name: str, sealed: str) -> str | None:
        """The plain value; None once the case's key is destroyed."""

    def is_sealed(self, value: str) -> bool: ...

    def pseudonym(self, identifier: str) -> str:
        """A stable reference to a person that cannot be turned back into the identifier."""

    def erasure_requested(self, request: ErasureRequest) -> None:
        """Recorded before the Shredded event is stored, so a crash cannot forget it."""

    def erase(self, case_id: UUID) -> None:
        """Destroy the case's key and its attachments; safe to call again."""

    def close(self) -> None: ...


def _seal(vault: Vault, case_id: UUID, name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "texts":
        return [vault.seal(case_id, name, item) for item in value]
    plain = json.dumps(value, ensure_ascii=False, sort_keys=True) if kind == "json" else value
    return vault.seal(case_id, name, plain)


def _open(vault: Vault, case_id: UUID, name: str, kind: str, value: Any) -> Any:
    if kind == "texts" and isinstance(value, list):
        return [_open(vault, case_id, name, "text", item) for item in value]
    if not isinstance(value, str) or not vault.is_sealed(value):
        return value  # stored before sealing existed
    plain = vault.open(case_id, name, value)
    if plain is None:
        return {} if kind == "json" else ERASED
    return json.loads(plain) if kind == "json" else plain


def _transform(state: dict[str, Any], fields: dict[str, str], change: Any) -> dict[str, Any]:
    return {k: (change(k, fields[k], v) if k in fields else v) for k, v in state.items()}


class PersonalDataMapper(ChainedMapper):
    """The chained mapper, sealing personal attributes on the way in and opening them out;
    ``to_sealed_domain_event`` (the chained mapper's) leaves them sealed, for the public topics."""

    def __init__(self, vault: Vault, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vault = vault

    def _changed(self, event: Any, seal: bool) -> Any:
        case_id = event.originator_id
        apply = _seal if seal else _open

        def change(name: str, kind: str, value: Any) -> Any:
            return apply(self.vault, case_id, name, kind, value)

        clone = object.__new__(type(event))
        state = dict(vars(event))
        if isinstance(event, Snapshot):
            state["state"] = _transform(state["state"], PERSONAL_STATE, change)
        else:
            state = _transform(state, PERSONAL.get(get_topic(type(event)), {}), change)
        clone.__dict__.update(state)
        return clone

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if get_topic(type(domain_event)) == CREATED:
            self.vault.open_case(domain_event.originator_id, domain_event.kommunenummer)
        return super().to_stored_event(self._changed(domain_event, seal=True))

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self._changed(super().to_domain_event(stored_event), seal=False)
