"""``saksflyt export noark5``: an avleveringspakke (Noark 5 v5.0 arkivuttrekk) of archived cases.

The package, in ``--out``:

    arkivstruktur.xml     arkiv → arkivdel → klassifikasjonssystem → klasse per service →
                          saksmappe per case → journalpost → dokumentbeskrivelse → dokumentobjekt
    loependeJournal.xml   every journal entry, with titles
    offentligJournal.xml  the same for the public: names screened in confidential services
    endringslogg.xml      each case's status change to Avsluttet
    arkivuttrekk.xml      ADDML 8.3: what each file is, its SHA-256, and counts
    *.xsd                 the official schemas, copied byte for byte from ``--schemas``
    DOKUMENT/             the documents: generated text and the uploads as received

The XML is written as a stream: memory stays flat in the number of cases. Case numbers
(saksaar/sakssekvensnummer) and journal numbers are assigned on a case's first export and kept
(``noark_numbers``), so a re-run writes the same numbers; files are written in case-id order, so
the same input gives the same bytes but for the export's own timestamps.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from io import TextIOBase
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from domain.casework import Casework
from domain.lifecycle import local_date
from domain.places import municipalities
from domain.services import Service
from projections.database import Database
from saksflyt.archive import addml
from saksflyt.archive.numbers import Numbers
from saksflyt.archive.records import SCREENING_BASIS, Journalpost, Saksmappe, saksmappe
from saksflyt.http.documents import DocumentStore

NS = "http://www.arkivverket.no/standarder/noark5/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMAS = (
    "arkivstruktur.xsd",
    "metadatakatalog.xsd",
    "endringslogg.xsd",
    "loependeJournal.xsd",
    "offentligJournal.xsd",
    "addml.xsd",
)
SYSTEM = "saksflyt"
IDS = UUID("8a4c1f0e-7d7b-4f55-9b0e-2f6d2b1a9c3d")  # namespace of the package's own systemIDs
PAGE = 200
NO_ATTRIBUTES = AttributesImpl({})
MISSING = "Filen fantes ikke i dokumentlageret ved eksport; registrert uten dokumentobjekt"


@dataclass
class Exported:
    cases: int = 0
    journalposter: int = 0
    documents: int = 0  # dokumentbeskrivelser
    files_written: int = 0  # dokumentobjekter: files under DOKUMENT/
    missing: int = 0  # uploads the document store no longer has (recorded, no file)
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256
    counts: Counter[str] = field(default_factory=Counter)


class Xml:
    """A streaming XML writer for one file of the package."""

    def __init__(self, stream: TextIOBase, root: str, namespace: str, schema: str) -> None:
        self.out = XMLGenerator(stream, "utf-8", short_empty_elements=True)
        self.out.startDocument()
        self.root = root
        attrs = {
            "xmlns": namespace,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": f"{namespace} {schema}",
        }
        self.out.startElement(root, AttributesImpl(attrs))

    def open(self, name: str, xsi_type: str | None = None) -> None:
        self.out.startElement(name, AttributesImpl({"xsi:type": xsi_type} if xsi_type else {}))

    def close(self, name: str) -> None:
        self.out.endElement(name)

    def leaf(self, name: str, value: object) -> None:
        if value is None:
            return
        self.out.startElement(name, NO_ATTRIBUTES)
        self.out.characters(_text(value))
        self.out.endElement(name)

    def leaves(self, *pairs: tuple[str, object]) -> None:
        for name, value in pairs:
            self.leaf(name, value)

    def end(self) -> None:
        self.out.endElement(self.root)
        self.out.endDocument()


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _archived(
    kommunenummer: str, since: date | None, until: date | None
) -> tuple[list[str], list[Any]]:
    clauses = ["kommunenummer = ?", "status = 'archived'"]
    params: list[Any] = [kommunenummer]
    for column_test, value in (("closed_at >= ?", since), ("closed_at < ?", until)):
        if value is not None:
            clauses.append(column_test)
            params.append(datetime.combine(value, datetime.min.time(), tzinfo=UTC))
    return clauses, params


def count_archived(db: Database, kommunenummer: str, since: date | None, until: date | None) -> int:
    """How many cases a package will hold (for progress and its time remaining)."""
    clauses, params = _archived(kommunenummer, since, until)
    rows = db.rows(f"SELECT COUNT(*) AS n FROM case_overview WHERE {' AND '.join(clauses)}", params)
    return int(rows[0]["n"])


def archived_cases(
    db: Database, kommunenummer: str, service: str, since: date | None, until: date | None
) -> Iterator[UUID]:
    """Archived cases of one service and municipality, closed in the period, in id order."""
    after = ""
    while True:
        clauses, params = _archived(kommunenummer, since, until)
        clauses += ["service = ?", "case_id > ?"]
        params += [service, after]
        rows = db.rows(
            f"SELECT case_id FROM case_overview WHERE {' AND '.join(clauses)} "
            "ORDER BY case_id LIMIT ?",
            (*params, PAGE),
        )
        if not rows:
            return
        yield from (UUID(r["case_id"]) for r in rows)
        after = rows[-1]["case_id"]


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
        self.creator = municipalities().get(kommunenummer, kommunenummer) + " kommune"
        (out / "DOKUMENT").mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix="journal-", dir=out))
        self._journal = open(self._tmp / "loepende.part", "w", encoding="utf-8")  # noqa: SIM115
        self._public = open(self._tmp / "offentlig.part", "w", encoding="utf-8")  # noqa: SIM115
        self._changes = open(self._tmp / "endring.part", "w", encoding="utf-8")  # noqa: SIM115
        self.first: date | None = None
        self.last: date | None = None
        self.screened = False  # any case with screened fields

    # ----- arkivstruktur.xml ----------------------------------------------------------------

    def write(
        self,
        services: list[Service],
        since: date | None,
        until: date | None,
        progress: Callable[[int], None],
    ) -> Exported:
        with open(self.out / "arkivstruktur.xml", "w", encoding="utf-8") as stream:
            xml = Xml(stream, "arkiv", NS + "arkivstruktur", "arkivstruktur.xsd")
            self._arkiv_head(xml)
            for service in services:
                cases = archived_cases(self.db, self.kommune, service.code, since, until)
                self._klasse(xml, service, cases, progress)
            xml.close("klassifikasjonssystem")
            xml.close("arkivdel")
            xml.end()
        self._finish_journals()
        return self.result

    def _arkiv_head(self, xml: Xml) -> None:
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
        self, xml: Xml, service: Service, cases: Iterator[UUID], progress: Callable[[int], None]
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
            mappe = saksmappe(service, case, self.app.history(case_id))
            self._saksmappe(xml, mappe)
            self.result.cases += 1
            progress(1)
        xml.close("klasse")

    def _saksmappe(self, xml: Xml, mappe: Saksmappe) -> None:
        year = mappe.saksdato.year
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
        xml.open("merknad")
        xml.leaves(
            ("merknadstekst", f"Bevares: {mappe.kept_because}"),
            ("merknadstype", "Bevaring"),
            ("merknadsdato", mappe.closed),
            ("merknadRegistrertAv", SYSTEM),
        )
        xml.close("merknad")
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
        self._change(mappe)

    def _skjerming(self, xml: Xml) -> None:
        xml.open("skjerming")
        xml.leaves(
            ("tilgangsrestriksjon", "P"),
            ("skjermingshjemmel", SCREENING_BASIS),
            ("skjermingMetadata", "tittel"),
            ("skjermingMetadata", "part"),
        )
        xml.close("skjerming")

    def _journalpost(
        self, xml: Xml, mappe: Saksmappe, entry: Journalpost, seq: int, sak: int
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
            self._document(xml, document)
        xml.leaves(("tittel", entry.title), ("offentligTittel", entry.public_title))
        xml.open("korrespondansepart")
        xml.leaves(
            ("korrespondanseparttype", _party_type(entry)), ("korrespondansepartNavn", entry.party)
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
        self._journal_entry(mappe, entry, seq, sak)

    def _document(self, xml: Xml, document: Any) -> None:
        written = self._write_document(document)
        xml.open("dokumentbeskrivelse")
        xml.leaves(
            ("systemID", document.system_id),
            ("dokumenttype", "Brev" if document.role == "Hoveddokument" else "Vedlegg"),
            ("dokumentstatus", "Dokumentet er ferdigstilt"),
            ("tittel", document.title),
            ("beskrivelse", None if written else MISSING),
            ("opprettetDato", document.created),
            ("opprettetAv", SYSTEM),
            ("tilknyttetRegistreringSom", document.role),
            ("dokumentnummer", document.number),
            ("tilknyttetDato", document.created),
            ("tilknyttetAv", SYSTEM),
        )
        if written:
            size, sha256 = written
            xml.open("dokumentobjekt")
            xml.leaves(
                ("systemID", uuid5(document.system_id, "objekt-1")),
                ("versjonsnummer", 1),
                ("variantformat", "Arkivformat"),
                ("format", document.file_format),
                ("opprettetDato", document.created),
                ("opprettetAv", SYSTEM),
                ("referanseDokumentfil", f"DOKUMENT/{document.name}"),
                ("sjekksum", sha256),
                ("sjekksumAlgoritme", "SHA-256"),
                ("filstoerrelse", size),
            )
            xml.close("dokumentobjekt")
            self.result.files_written += 1
        else:
            self.result.missing += 1
        xml.close("dokumentbeskrivelse")
        self.result.documents += 1

    def _write_document(self, document: Any) -> tuple[int, str] | None:
        """Decrypted only into the package: its size and SHA-256; None when the store lacks it."""
        if document.text is not None:
            content = document.text.encode("utf-8")
        else:
            case_id = UUID(document.name[:36])
            found = self._read_upload(case_id, document.storage_ref)
            if found is None:
                return None
            content = found
        (self.out / "DOKUMENT" / document.name).write_bytes(content)
        return len(content), hashlib.sha256(content).hexdigest()

    def _read_upload(self, case_id: UUID, storage_ref: str) -> bytes | None:
        try:
            return self.documents.read(case_id, storage_ref)
        except OSError:
            return None

    # ----- journals and change log ------------------------------------------------------------

    def _journal_entry(self, mappe: Saksmappe, entry: Journalpost, seq: int, sak: int) -> None:
        day = local_date(entry.when)
        self.first = min(self.first or day, day)
        self.last = max(self.last or day, day)
        for stream, public in ((self._journal, False), (self._public, True)):
            xml = _Fragment(stream)
            xml.open("journalregistrering")
            xml.open("klasse")
            xml.leaves(("klasseID", mappe.service.code), ("tittel", mappe.service.name_nb))
            xml.close("klasse")
            xml.open("saksmappe")
            xml.leaves(("saksaar", mappe.saksdato.year), ("sakssekvensnummer", sak))
            if not public:
                xml.leaf("tittel", mappe.title)
            xml.leaf("offentligTittel", mappe.public_title)
            if public and mappe.screened:
                xml.leaves(("tilgangsrestriksjon", "P"), ("skjermingshjemmel", SCREENING_BASIS))
            xml.close("saksmappe")
            xml.open("journalpost")
            xml.leaves(
                ("systemID", entry.system_id),
                ("journalaar", day.year),
                ("journalsekvensnummer", seq),
                ("journalpostnummer", entry.number),
            )
            if not public:
                xml.leaf("tittel", entry.title)
            xml.leaves(("offentligTittel", entry.public_title), ("journaldato", day))
            if public and mappe.screened:
                xml.leaves(("tilgangsrestriksjon", "P"), ("skjermingshjemmel", SCREENING_BASIS))
            xml.open("korrespondansepart")
            name = entry.public_party if public else entry.party
            xml.leaves(
                ("korrespondanseparttype", _party_type(entry)), ("korrespondansepartNavn", name)
            )
            xml.close("korrespondansepart")
            xml.close("journalpost")
            xml.close("journalregistrering")

    def _change(self, mappe: Saksmappe) -> None:
        xml = _Fragment(self._changes)
        xml.open("endring")
        xml.leaves(
            ("referanseArkivenhet", mappe.case_id),
            ("referanseMetadata", "saksstatus"),
            ("endretDato", mappe.closed),
            ("endretAv", mappe.officer),
            ("tidligereVerdi", "Under behandling"),
            ("nyVerdi", "Avsluttet"),
        )
        xml.close("endring")

    def _finish_journals(self) -> None:
        for stream in (self._journal, self._public, self._changes):
            stream.close()
        first = self.first or self.now.date()
        last = self.last or self.now.date()
        for name, part in (("loependeJournal", "loepende"), ("offentligJournal", "offentlig")):
            with open(self.out / f"{name}.xml", "w", encoding="utf-8") as stream:
                xml = Xml(stream, name, NS + name, f"{name}.xsd")
                xml.open("journalhode")
                xml.leaves(
                    ("journalStartDato", first),
                    ("journalSluttDato", last),
                    ("antallJournalposter", self.result.journalposter),
                )
                xml.open("arkivskaper")
                xml.leaves(("arkivskaperID", self.kommune), ("arkivskaperNavn", self.creator))
                xml.close("arkivskaper")
                xml.close("journalhode")
                xml.out.characters("\n")
                stream.flush()
                with open(self._tmp / f"{part}.part", encoding="utf-8") as body:
                    shutil.copyfileobj(body, stream)
                xml.end()
        with open(self.out / "endringslogg.xml", "w", encoding="utf-8") as stream:
            xml = Xml(stream, "endringslogg", NS + "endringslogg", "endringslogg.xsd")
            xml.out.characters("\n")  # ends the root's start tag before the entries follow
            stream.flush()
            with open(self._tmp / "endring.part", encoding="utf-8") as body:
                shutil.copyfileobj(body, stream)
            xml.end()
        shutil.rmtree(self._tmp)


class _Fragment(Xml):
    """Elements written into a part file (no document, no root): joined under a root later."""

    def __init__(self, stream: TextIOBase) -> None:
        self.out = XMLGenerator(stream, "utf-8", short_empty_elements=True)


def _party_type(entry: Journalpost) -> str:
    return "Avsender" if entry.kind.startswith("Inngående") else "Mottaker"


def copy_schemas(schemas: Path, out: Path) -> None:
    """The official schemas, byte for byte (they may not be changed: Noark 5 krav 6.4.18)."""
    for name in SCHEMAS:
        source = schemas / name
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing: --schemas must hold the official XSDs")
        shutil.copyfile(source, out / name)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class NothingToExport(Exception):
    """No archived case in the municipality and period: a package needs at least one."""


def export(
    app: Casework,
    package: Package,
    schemas: Path,
    since: date | None = None,
    until: date | None = None,
    progress: Callable[[int], None] = lambda _: None,
) -> Exported:
    """Write the whole package into ``package.out``; returns what it holds."""
    copy_schemas(schemas, package.out)  # first: a wrong --schemas fails before any work
    catalogue = app.catalogue
    services = [catalogue.service(code, package.kommune) for code in sorted(catalogue.codes())]
    result = package.write(services, since, until, progress)
    if result.cases == 0:
        raise NothingToExport(f"no archived cases for {package.kommune} in that period")
    structure = {
        "mappe": result.cases,
        "registrering": result.journalposter,
        "dokumentbeskrivelse": result.documents,
        "dokumentobjekt": result.files_written,
    }
    journal = {"journalregistrering": result.journalposter}
    files = [
        addml.PackageFile("arkivstruktur.xml", "arkivstruktur.xsd", structure),
        addml.PackageFile("endringslogg.xml", "endringslogg.xsd", {"endring": result.cases}),
        addml.PackageFile("loependeJournal.xml", "loependeJournal.xsd", journal),
        addml.PackageFile("offentligJournal.xml", "offentligJournal.xsd", journal),
    ]
    sums = {name: sha256_of(package.out / name) for name in [f.name for f in files] + list(SCHEMAS)}
    about = addml.Description(
        creator=package.creator,
        archive=f"{package.creator}: saksflyt",
        start=package.first or package.now.date(),
        end=package.last or package.now.date(),
        documents=result.files_written,
        screened=package.screened,
    )
    addml.write(package.out, about, files, sums)
    result.files = {**sums, "arkivuttrekk.xml": sha256_of(package.out / "arkivuttrekk.xml")}
    return result
