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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from domain.casework import Casework
from projections.store import ProjectionStore
from saksflyt.archive import addml, conversion
from saksflyt.archive.arkivstruktur import Exported, Package
from saksflyt.bootstrap import bootstrap, projection_store
from saksflyt.http.documents import DocumentStore
from saksflyt.privacy.vault import KeyVault
from saksflyt.records import records_database
from saksflyt.settings import Settings

__all__ = [
    "SCHEMAS",
    "Exported",
    "NothingToExport",
    "Package",
    "copy_schemas",
    "export",
    "package_for",
]

SCHEMAS = (
    "arkivstruktur.xsd",
    "metadatakatalog.xsd",
    "endringslogg.xsd",
    "loependeJournal.xsd",
    "offentligJournal.xsd",
    "addml.xsd",
)


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


@contextmanager
def package_for(
    settings: Settings, kommunenummer: str, out: Path, now: datetime
) -> Iterator[tuple[Casework, ProjectionStore, Package]]:
    """The stores one package is built from (the read models, and numbers on a connection of
    their own), opened for an export and closed after it, however it ends."""
    app, store = bootstrap(settings), projection_store(settings)
    numbers = records_database(settings)
    try:
        assert isinstance(app.vault, KeyVault)
        documents = DocumentStore(settings.document_dir, app.vault)
        yield app, store, Package(app, store.db, documents, kommunenummer, out, now, numbers)
    finally:
        numbers.close()
        store.db.close()
        app.close()


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
    conversion.ghostscript()  # and no Ghostscript, no PDF/A of the uploads: said at once
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
        start=(package.journals.period or (package.now.date(),) * 2)[0],
        end=(package.journals.period or (package.now.date(),) * 2)[1],
        documents=result.files_written,
        screened=package.screened,
    )
    addml.write(package.out, about, files, sums)
    result.files = {**sums, "arkivuttrekk.xml": sha256_of(package.out / "arkivuttrekk.xml")}
    return result
