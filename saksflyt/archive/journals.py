"""The journals and the change log of a package: ``loependeJournal.xml``, ``offentligJournal.xml``
and ``endringslogg.xml``.

Their heads hold counts and dates known only at the end, so entries go to part files as the cases
stream past and each file is put together when the last case is written: memory stays flat. The
public journal leaves out full titles and, in confidential services, shows ``*****`` for names
with the screening basis.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import TextIO

from domain.lifecycle import local_date
from saksflyt.archive.records import SCREENING_BASIS, Journalpost, Saksmappe
from saksflyt.archive.xml_stream import Document, Fragment

NS = "http://www.arkivverket.no/standarder/noark5/"


def party_type(entry: Journalpost) -> str:
    return "Avsender" if entry.kind.startswith("Inngående") else "Mottaker"


class Journals:
    def __init__(self, out: Path, kommunenummer: str, creator: str) -> None:
        self.out, self.kommune, self.creator = out, kommunenummer, creator
        self._tmp = Path(tempfile.mkdtemp(prefix="journal-", dir=out))
        self._full = open(self._tmp / "loepende.part", "w", encoding="utf-8")  # noqa: SIM115
        self._public = open(self._tmp / "offentlig.part", "w", encoding="utf-8")  # noqa: SIM115
        self._changes = open(self._tmp / "endring.part", "w", encoding="utf-8")  # noqa: SIM115
        self.entries = 0
        self.first: date | None = None
        self.last: date | None = None
        # every date in the package (cases opened, closed, archived; journal dates): the
        # archival period of arkivuttrekk.xml covers them all
        self.period: tuple[date, date] | None = None

    def covers(self, *days: date) -> None:
        """Widen the package's archival period to take in ``days``."""
        for day in days:
            first, last = self.period or (day, day)
            self.period = (min(first, day), max(last, day))

    def entry(self, mappe: Saksmappe, entry: Journalpost, seq: int, sak: int) -> None:
        """One journal entry, in both journals."""
        day = local_date(entry.when)
        self.first = min(self.first or day, day)
        self.last = max(self.last or day, day)
        self.covers(day)
        self.entries += 1
        for stream, public in ((self._full, False), (self._public, True)):
            xml = Fragment(stream)
            xml.open("journalregistrering")
            xml.open("klasse")
            xml.leaves(("klasseID", mappe.service.code), ("tittel", mappe.service.name_nb))
            xml.close("klasse")
            self._saksmappe(xml, mappe, sak, public)
            self._journalpost(xml, mappe, entry, (day, seq), public)
            xml.close("journalregistrering")

    def _saksmappe(self, xml: Fragment, mappe: Saksmappe, sak: int, public: bool) -> None:
        xml.open("saksmappe")
        xml.leaves(("saksaar", mappe.saksdato.year), ("sakssekvensnummer", sak))
        xml.leaf("tittel", None if public else mappe.title)
        xml.leaf("offentligTittel", mappe.public_title)
        if public and mappe.screened:
            xml.leaves(("tilgangsrestriksjon", "P"), ("skjermingshjemmel", SCREENING_BASIS))
        xml.close("saksmappe")

    def _journalpost(
        self,
        xml: Fragment,
        mappe: Saksmappe,
        entry: Journalpost,
        when: tuple[date, int],
        public: bool,
    ) -> None:
        day, seq = when
        xml.open("journalpost")
        xml.leaves(
            ("systemID", entry.system_id),
            ("journalaar", day.year),
            ("journalsekvensnummer", seq),
            ("journalpostnummer", entry.number),
        )
        xml.leaf("tittel", None if public else entry.title)
        xml.leaves(("offentligTittel", entry.public_title), ("journaldato", day))
        if public and mappe.screened:
            xml.leaves(("tilgangsrestriksjon", "P"), ("skjermingshjemmel", SCREENING_BASIS))
        xml.open("korrespondansepart")
        name = entry.public_party if public else entry.party
        xml.leaves(("korrespondanseparttype", party_type(entry)), ("korrespondansepartNavn", name))
        xml.close("korrespondansepart")
        xml.close("journalpost")

    def change(self, mappe: Saksmappe) -> None:
        """The case's status change to Avsluttet, in the change log."""
        xml = Fragment(self._changes)
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

    def finish(self, today: date) -> None:
        """Put the three files together; the part files go."""
        for stream in (self._full, self._public, self._changes):
            stream.close()
        for name, part in (("loependeJournal", "loepende"), ("offentligJournal", "offentlig")):
            with open(self.out / f"{name}.xml", "w", encoding="utf-8") as stream:
                xml = Document(stream, name, NS + name, f"{name}.xsd")
                xml.open("journalhode")
                xml.leaves(
                    ("journalStartDato", self.first or today),
                    ("journalSluttDato", self.last or today),
                    ("antallJournalposter", self.entries),
                )
                xml.open("arkivskaper")
                xml.leaves(("arkivskaperID", self.kommune), ("arkivskaperNavn", self.creator))
                xml.close("arkivskaper")
                xml.close("journalhode")
                self._append(xml, stream, part)
        with open(self.out / "endringslogg.xml", "w", encoding="utf-8") as stream:
            xml = Document(stream, "endringslogg", NS + "endringslogg", "endringslogg.xsd")
            self._append(xml, stream, "endring")
        shutil.rmtree(self._tmp)

    def _append(self, xml: Document, stream: TextIO, part: str) -> None:
        xml.flush_start()
        stream.flush()
        with open(self._tmp / f"{part}.part", encoding="utf-8") as body:
            shutil.copyfileobj(body, stream)
        xml.end()
