"""``arkivstruktur.xml``: arkiv → arkivdel → klassifikasjonssystem → klasse per service →
saksmappe per case → journalpost → dokumentbeskrivelse → dokumentobjekt, written as the cases
stream past; each case's journal entries and status change go to ``Journals`` on the way, and its
documents into ``DOKUMENT/`` (decrypted only there).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from uuid import UUID, uuid5

from domain.casework import Casework
from domain.lifecycle import local_date
from domain.places import municipality_title
from domain.services import Service
from projections.database import Database
from projections.queries import archived_cases
from saksflyt.archive import conversion
from saksflyt.archive.journals import Journals, party_type
from saksflyt.archive.numbers import Numbers
from saksflyt.archive.records import (
    SCREENING_BASIS,
    DocumentFile,
    Journalpost,
    Saksmappe,
    saksmappe,
)
from saksflyt.archive.xml_stream import Document
from saksflyt.http.documents import DocumentStore
from saksflyt.letters.pdfa import pdfa

NS = "http://www.arkivverket.no/standarder/noark5/"
SYSTEM = "saksflyt"
IDS = UUID("8a4c1f0e-7d7b-4f55-9b0e-2f6d2b1a9c3d")  # namespace of the package's own systemIDs
PAGE = 200
KASSASJON_BASIS = "Kommunens bevarings- og kassasjonsregler i saksflyt"
MISSING = "Filen fantes ikke i dokumentlageret ved eksport; registrert uten dokumentobjekt"
NOT_CONVERTED = (
    "Arkivert slik den ble mottatt (Produksjonsformat); kunne ikke konverteres til PDF/A"
)
log = logging.getLogger(__name__)
CONVERTED_KEPT = 32  # PDF/A conversions remembered during one export


@dataclass
class Exported:
    cases: int = 0
    journalposter: int = 0
    documents: int = 0  # dokumentbeskrivelser
    files_written: int = 0  # dokumentobjekter: files under DOKUMENT/
    missing: int = 0  # uploads the document store no longer has (recorded, no file)
    unconverted: int = 0  # uploads Ghostscript could not make PDF/A (kept as received only)
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256


@dataclass(frozen=True)
class Written:
    """One file under DOKUMENT/, as its dokumentobjekt describes it."""

    name: str
    size: int
    sha256: str
    variant: str  # Arkivformat | Produksjonsformat
    file_format: str
    why: str = ""  # an upload kept as received only: why it was not converted


class Package:
    """Writes one avleveringspakke; ``export`` drives it."""

    def __init__(
        self,
        app: Casework,
        db: Database,
        documents: DocumentStore,
        kommunenummer: str,
        out: Path,
        now: datetime,
        numbers_db: Database,
    ) -> None:
        self.app, self.db, self.documents = app, db, documents
        self.kommune, self.out, self.now = kommunenummer, out, now
        self.numbers = Numbers(numbers_db)
        self.result = Exported()
        self.creator = municipality_title(kommunenummer)
        (out / "DOKUMENT").mkdir(parents=True, exist_ok=True)
        self.journals = Journals(out, kommunenummer, self.creator)
        self.screened = False  # any case with screened fields
        self._pdfa: dict[bytes, bytes | conversion.NotConverted] = {}

    # ----- arkivstruktur.xml ----------------------------------------------------------------

    def write(
        self,
        services: list[Service],
        since: date | None,
        until: date | None,
        progress: Callable[[int], None],
    ) -> Exported:
        with open(self.out / "arkivstruktur.xml", "w", encoding="utf-8") as stream:
            xml = Document(stream, "arkiv", NS + "arkivstruktur", "arkivstruktur.xsd")
            self._arkiv_head(xml)
            for service in services:
                cases = archived_cases(self.db, self.kommune, service.code, since, until, PAGE)
                self._klasse(xml, service, cases, progress)
            xml.close("klassifikasjonssystem")
            xml.close("arkivdel")
            xml.end()
        self.journals.finish(self.now.date())
        return self.result

    def _arkiv_head(self, xml: Document) -> None:
        xml.leaves(
            ("systemID", uuid5(IDS, f"arkiv-{self.kommune}")),
            ("tittel", f"{self.creator}: saker fra selvbetjeningsløsninger (saksflyt)"),
            ("opprettetDato", self.now),
            ("opprettetAv", SYSTEM),
            ("avsluttetDato", self.now),
            ("avsluttetAv", SYSTEM),
        )
        xml.open("arkivskaper")
        xml.leaves(("arkivskaperID", self.kommune), ("arkivskaperNavn", self.creator))
        xml.close("arkivskaper")
        xml.open("arkivdel")
        xml.leaves(
            ("systemID", uuid5(IDS, f"arkivdel-{self.kommune}")),
            ("tittel", "Søknader fra selvbetjeningsløsninger"),
            ("arkivdelstatus", "Avsluttet periode"),
            ("opprettetDato", self.now),
            ("opprettetAv", SYSTEM),
            ("avsluttetDato", self.now),
            ("avsluttetAv", SYSTEM),
        )
        xml.open("klassifikasjonssystem")
        xml.leaves(
            ("systemID", uuid5(IDS, f"klassifikasjonssystem-{self.kommune}")),
            ("klassifikasjonstype", "Tjenester (saksflyt)"),
            ("tittel", "Tjenester"),
            ("opprettetDato", self.now),
            ("opprettetAv", SYSTEM),
        )

    def _klasse(
        self,
        xml: Document,
        service: Service,
        cases: Iterator[UUID],
        progress: Callable[[int], None],
    ) -> None:
        xml.open("klasse")
        xml.leaves(
            ("systemID", uuid5(IDS, f"klasse-{self.kommune}-{service.code}")),
            ("klasseID", service.code),
            ("tittel", service.name_nb),
            ("opprettetDato", self.now),
            ("opprettetAv", SYSTEM),
        )
        for case_id in cases:
            case = self.app.get_case(case_id)
            history = self.app.history(case_id)
            mappe = saksmappe(service, case, history, self.app.catalogue.maalform(self.kommune))
            self._saksmappe(xml, mappe)
            self.result.cases += 1
            progress(1)
        xml.close("klasse")

    def _saksmappe(self, xml: Document, mappe: Saksmappe) -> None:
        year = mappe.saksdato.year
        dates = (mappe.opened, mappe.closed)
        self.journals.covers(*(local_date(d) for d in dates), mappe.archived_on or mappe.saksdato)
        numbers = self.numbers.assign(mappe, self.kommune)
        xml.open("mappe", "saksmappe")
        xml.leaves(
            ("systemID", mappe.case_id),
            ("mappeID", f"{year}/{numbers.sak}"),
            ("tittel", mappe.title),
            ("offentligTittel", mappe.public_title),
            ("opprettetDato", mappe.opened),
            ("opprettetAv", SYSTEM),
            ("avsluttetDato", mappe.closed),
            ("avsluttetAv", mappe.officer),
        )
        xml.open("part")
        xml.leaves(("partNavn", mappe.party), ("partRolle", "Søker"))
        xml.close("part")
        self._kept_because(xml, mappe)
        if mappe.screened:
            self._skjerming(xml)
            self.screened = True
        for entry in mappe.journalposter:
            self._journalpost(xml, mappe, entry, numbers.journal[entry.number], numbers.sak)
        xml.leaves(
            ("saksaar", year),
            ("sakssekvensnummer", numbers.sak),
            ("saksdato", mappe.saksdato),
            ("administrativEnhet", mappe.service.name_nb),
            ("saksansvarlig", mappe.officer),
            ("saksstatus", "Avsluttet"),
        )
        xml.close("mappe")
        self.journals.change(mappe)

    def _kept_because(self, xml: Document, mappe: Saksmappe) -> None:
        """Why this case is kept, as a merknad. Every case in a package is kept (bevares; the
        shredded ones are gone), so it carries no ``kassasjon``: Noark 5's kassasjon is for
        material to be destroyed after a bevaringstid on a kassasjonsdato, and ``Bevares`` with
        a bevaringstid of 0 and a kassasjonsdato says two things at once."""
        xml.open("merknad")
        xml.leaves(
            ("merknadstekst", f"Bevares. {KASSASJON_BASIS}: {mappe.kept_because}"),
            ("merknadstype", "Bevaring"),
            ("merknadsdato", mappe.closed),  # the Archived event: a case's last
            ("merknadRegistrertAv", SYSTEM),
        )
        xml.close("merknad")

    def _skjerming(self, xml: Document) -> None:
        xml.open("skjerming")
        xml.leaves(
            ("tilgangsrestriksjon", "P"),
            ("skjermingshjemmel", SCREENING_BASIS),
            ("skjermingMetadata", "tittel"),
            ("skjermingMetadata", "part"),
        )
        xml.close("skjerming")

    def _journalpost(
        self, xml: Document, mappe: Saksmappe, entry: Journalpost, seq: int, sak: int
    ) -> None:
        xml.open("registrering", "journalpost")
        xml.leaves(
            ("systemID", entry.system_id),
            ("opprettetDato", entry.when),
            ("opprettetAv", SYSTEM),
            ("arkivertDato", mappe.closed),
            ("arkivertAv", SYSTEM),
        )
        if mappe.screened:
            self._skjerming(xml)
        for document in entry.documents:
            self._document(xml, mappe.case_id, document)
        xml.leaves(("tittel", entry.title), ("offentligTittel", entry.public_title))
        xml.open("korrespondansepart")
        xml.leaves(
            ("korrespondanseparttype", party_type(entry)), ("korrespondansepartNavn", entry.party)
        )
        xml.close("korrespondansepart")
        day = local_date(entry.when)
        xml.leaves(
            ("journalaar", day.year),
            ("journalsekvensnummer", seq),
            ("journalpostnummer", entry.number),
            ("journalposttype", entry.kind),
            ("journalstatus", "Arkivert"),
            ("journaldato", day),
        )
        xml.close("registrering")
        self.result.journalposter += 1
        self.journals.entry(mappe, entry, seq, sak)

    def _document(self, xml: Document, case_id: UUID, document: DocumentFile) -> None:
        """A dokumentbeskrivelse and its files: a letter as PDF/A; an upload as received
        (Produksjonsformat) and converted to PDF/A (Arkivformat) where Ghostscript can."""
        files = self._write_document(case_id, document)
        note = None if files else MISSING
        if files and len(files) == 1 and document.letter is None:
            note = f"{NOT_CONVERTED}: {files[0].why}"
        xml.open("dokumentbeskrivelse")
        xml.leaves(
            ("systemID", document.system_id),
            ("dokumenttype", "Brev" if document.role == "Hoveddokument" else "Vedlegg"),
            ("dokumentstatus", "Dokumentet er ferdigstilt"),
            ("tittel", document.title),
            ("beskrivelse", note),
            ("opprettetDato", document.created),
            ("opprettetAv", SYSTEM),
            ("tilknyttetRegistreringSom", document.role),
            ("dokumentnummer", document.number),
            ("tilknyttetDato", document.created),
            ("tilknyttetAv", SYSTEM),
        )
        for n, written in enumerate(files, start=1):
            xml.open("dokumentobjekt")
            xml.leaves(
                ("systemID", uuid5(document.system_id, f"objekt-{n}")),
                ("versjonsnummer", 1),
                ("variantformat", written.variant),
                ("format", written.file_format),
                ("opprettetDato", document.created),
                ("opprettetAv", SYSTEM),
                ("referanseDokumentfil", f"DOKUMENT/{written.name}"),
                ("sjekksum", written.sha256),
                ("sjekksumAlgoritme", "SHA-256"),
                ("filstoerrelse", written.size),
            )
            xml.close("dokumentobjekt")
            self.result.files_written += 1
        if not files:
            self.result.missing += 1
        elif note:
            self.result.unconverted += 1
        xml.close("dokumentbeskrivelse")
        self.result.documents += 1

    def _write_document(self, case_id: UUID, document: DocumentFile) -> list[Written]:
        """Decrypted only into the package; nothing when the store lacks the upload."""
        if document.letter is not None:
            content = pdfa(document.letter, self.creator, document.created)
            return [self._write(document.name, content, "Arkivformat", document.file_format)]
        assert document.storage_ref is not None and document.media_type is not None  # an upload
        found = self._read_upload(case_id, document.storage_ref)
        if found is None:
            return []
        kept = self._write(document.name, found, "Produksjonsformat", document.file_format)
        try:
            converted = self._converted(found, document.media_type)
        except conversion.NotConverted as why:
            log.warning("an upload kept as received only", extra={"reason": str(why)})
            return [replace(kept, why=str(why))]
        name = f"{document.name.rsplit('.', 1)[0]}-arkiv.pdf"
        return [kept, self._write(name, converted, "Arkivformat", conversion.ARCHIVAL_FORMAT)]

    def _converted(self, content: bytes, media_type: str) -> bytes:
        """PDF/A of an upload; the same bytes uploaded again (a form portal's standard
        attachment) are converted once per export."""
        key = hashlib.sha256(content).digest()
        if key not in self._pdfa:
            if len(self._pdfa) >= CONVERTED_KEPT:
                self._pdfa.pop(next(iter(self._pdfa)))
            try:
                self._pdfa[key] = conversion.to_pdfa(content, media_type)
            except conversion.NotConverted as why:
                self._pdfa[key] = why
        done = self._pdfa[key]
        if isinstance(done, conversion.NotConverted):
            raise done
        return done

    def _write(self, name: str, content: bytes, variant: str, file_format: str) -> Written:
        (self.out / "DOKUMENT" / name).write_bytes(content)
        digest = hashlib.sha256(content).hexdigest()
        return Written(name, len(content), digest, variant, file_format)

    def _read_upload(self, case_id: UUID, storage_ref: str) -> bytes | None:
        try:
            return self.documents.read(case_id, storage_ref)
        except OSError:
            return None

    # ----- journals and change log ------------------------------------------------------------
