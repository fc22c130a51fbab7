"""Case and journal numbers for the archive, assigned once and kept (``noark_numbers``).

A case's sakssekvensnummer counts per municipality and saksår, a journal entry's
journalsekvensnummer per municipality and journalår. Each is taken on the first export that
includes it and read back by every later one: the same case keeps its mappeID (``2026/17``) in
every package, and numbers are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.lifecycle import local_date
from projections.database import Database
from saksflyt.archive.records import Saksmappe


@dataclass(frozen=True)
class CaseNumbers:
    sak: int
    journal: dict[int, int]  # journalpostnummer -> journalsekvensnummer


class Numbers:
    def __init__(self, db: Database) -> None:
        self.db = db

    def case_reference(self, case_id: UUID, kommunenummer: str, saksaar: int) -> str:
        """The case's mappeID, ``saksår/sakssekvensnummer``: taken now, or the one it has."""
        with self.db.transaction():
            self.db.lock("saksflyt-noark-numbers")
            return f"{saksaar}/{self._one('sak', str(case_id), kommunenummer, saksaar)}"

    def existing(self, case_id: UUID) -> str | None:
        """The case's mappeID if it has been given one (nothing is assigned here)."""
        found = self.db.rows(
            "SELECT year, number FROM noark_numbers WHERE kind = 'sak' AND key = ?", (str(case_id),)
        )
        return f"{found[0]['year']}/{found[0]['number']}" if found else None

    def assign(self, mappe: Saksmappe, kommunenummer: str) -> CaseNumbers:
        with self.db.transaction():
            self.db.lock("saksflyt-noark-numbers")  # one assigner at a time
            sak = self._one("sak", str(mappe.case_id), kommunenummer, mappe.saksdato.year)
            journal = {
                entry.number: self._one(
                    "journal", str(entry.system_id), kommunenummer, local_date(entry.when).year
                )
                for entry in mappe.journalposter
            }
        return CaseNumbers(sak, journal)

    def _one(self, kind: str, key: str, kommunenummer: str, year: int) -> int:
        found = self.db.rows(
            "SELECT number FROM noark_numbers WHERE kind = ? AND key = ?", (kind, key)
        )
        if found:
            return int(found[0]["number"])
        top = self.db.rows(
            "SELECT MAX(number) AS n FROM noark_numbers "
            "WHERE kind = ? AND kommunenummer = ? AND year = ?",
            (kind, kommunenummer, year),
        )
        number = int(top[0]["n"] or 0) + 1
        self.db.execute(
            "INSERT INTO noark_numbers (kind, key, kommunenummer, year, number) "
            "VALUES (?, ?, ?, ?, ?)",
            (kind, key, kommunenummer, year, number),
        )
        return number
