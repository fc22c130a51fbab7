"""A closed case as Noark 5 records: saksmappe, journalposter, dokumenter (no I/O here).

Which events become journal entries (``saksflyt.letters.occasions``): the incoming application
and neighbours' answers (Inngående); the receipt, requests for missing documents, preliminary
replies, neighbour notices and the decision (Utgående). The documents
saksflyt writes itself (the application as received, the receipt, the notice, a neighbour's answer,
the decision) are letters rendered from their events (``saksflyt.letters``) and go to the package as
PDF/A; uploaded attachments go as received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from domain.forms import applicant_name
from domain.lifecycle import local_date
from domain.services import Sensitivity, Service
from saksflyt.letters.occasions import OCCASIONS, About, letter_for
from saksflyt.letters.render import Letter

SCREENED = "*****"
# offentleglova § 13 with forvaltningsloven § 13: personal matters under taushetsplikt
SCREENING_BASIS = "Offl. § 13 jf. fvl. § 13"


@dataclass(frozen=True)
class DocumentFile:
    """One file under DOKUMENT/: a letter saksflyt wrote, or an upload's bytes as received."""

    system_id: UUID
    title: str
    role: str  # Hoveddokument | Vedlegg
    number: int
    created: datetime
    file_format: str  # PDF/A-1b (letters) | PDF | JPEG | PNG (uploads)
    name: str  # its file name in the package
    letter: Letter | None = None  # generated documents
    storage_ref: str | None = None  # uploads, read from the document store
    media_type: str | None = None  # uploads: as received (converted to PDF/A for Arkivformat)


@dataclass
class Journalpost:
    system_id: UUID
    number: int  # journalpostnummer within the saksmappe
    kind: str  # Inngående dokument | Utgående dokument
    title: str
    public_title: str
    when: datetime
    party: str
    public_party: str
    documents: list[DocumentFile] = field(default_factory=list)


@dataclass
class Saksmappe:
    case_id: UUID
    service: Service
    title: str
    public_title: str
    opened: datetime
    closed: datetime
    screened: bool
    officer: str
    party: str
    journalposter: list[Journalpost]
    kept_because: str = ""  # the retention policy's reason, or an archivist's override
    reference: str | None = None  # saksnummer (saksår/sekvensnummer) once archived
    retention_years: int = 0  # the policy's waiting time after the appeal period, whole years
    archived_on: date | None = None  # the day the retention decision (bevares) was carried out

    @property
    def saksdato(self) -> Any:
        return local_date(self.opened)


def saksaar(case: Any) -> int:
    """The case's year in the archive: the year it was received (or opened, if never sent)."""
    return local_date(case.submitted_at or case.created_at).year


def saksmappe(
    service: Service, case: Any, history: Iterable[Any], language: str = "nb"
) -> Saksmappe:
    """The saksmappe of an archived case from its state and its history (personal data open)."""
    service = service.for_form(case.form)
    screened = service.sensitivity is not Sensitivity.NONE
    party = applicant_name(case.form) or "Ukjent avsender"
    public_party = SCREENED if screened else party
    base = f"{service.name_nb}"
    mappe = Saksmappe(
        case_id=case.id,
        service=service,
        title=f"{base} – {party}",
        public_title=f"{base} – {public_party}",
        opened=case.submitted_at or case.created_at,
        closed=case.last_event_at,
        screened=screened,
        officer=(case.decision or {}).get("case_officer") or "saksflyt",
        party=party,
        journalposter=[],
        reference=case.archive_reference,
    )
    _, mappe.kept_because = case.retention_decision(service)
    mappe.retention_years = -(-service.retention.after_days // 365)
    for event in history:
        entry = _journalpost(mappe, event, case, case.attachments, language)
        if entry is not None:
            mappe.journalposter.append(entry)
        if type(event).__name__ == "Archived":
            mappe.archived_on = local_date(event.at)
            override = getattr(event, "override_reason", None)
            if override:
                mappe.kept_because = f"kept by an archivist's decision: {override}"
    return mappe


def _journalpost(
    mappe: Saksmappe, event: Any, case: Any, uploads: list[Any], language: str
) -> Journalpost | None:
    kind = type(event).__name__
    occasion = OCCASIONS.get(kind)
    if occasion is None:
        return None
    about = About(mappe.service, case, mappe.reference, language)
    letter = letter_for(occasion, event, about)
    direction, title = occasion.direction, letter.title
    number = len(mappe.journalposter) + 1
    system_id = uuid5(mappe.case_id, f"journalpost-{event.originator_version}")
    neighbour = kind in ("NeighbourCommentReceived", "NeighbourConsentReceived")
    party = str(getattr(event, "neighbour", "nabo")) if neighbour else mappe.party
    public_party = SCREENED if mappe.screened or neighbour else party
    entry = Journalpost(
        system_id=system_id,
        number=number,
        kind=direction,
        title=f"{title} – {party}",
        public_title=f"{title} – {public_party}",
        when=event.at,
        party=party,
        public_party=public_party,
    )
    entry.documents.append(
        DocumentFile(
            system_id=uuid5(system_id, "dokument-1"),
            title=title,
            role="Hoveddokument",
            number=1,
            created=event.at,
            file_format="PDF/A-1b",
            name=f"{mappe.case_id}-{event.originator_version}-1.pdf",
            letter=letter,
        )
    )
    if kind == "Submitted":
        for n, upload in enumerate(uploads, start=2):
            entry.documents.append(_upload(mappe, system_id, upload, n))
    return entry


def _upload(mappe: Saksmappe, journalpost: UUID, upload: Any, number: int) -> DocumentFile:
    suffix = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    extension = suffix.get(upload["media_type"], "bin")
    return DocumentFile(
        system_id=uuid5(journalpost, f"dokument-{number}"),
        title=f"Vedlegg: {upload['kind']}",
        role="Vedlegg",
        number=number,
        created=upload.get("added_at") or mappe.opened,
        file_format={"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}.get(extension, "BIN"),
        name=f"{mappe.case_id}-vedlegg-{upload['attachment_id']}.{extension}",
        storage_ref=upload["storage_ref"],
        media_type=upload["media_type"],
    )
