"""Every kind of letter saksflyt writes is a valid PDF/A-1b by Apache PDFBox Preflight, an
independent validator: short and multi-page, Sami names, text the font lacks. A spoiled copy is
caught, so the check can fail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from saksflyt.letters.pdfa import pdfa
from saksflyt.letters.render import Letter, render
from tests.pdfa import Preflight
from tests.unit.test_letters import KINDS, context

AT = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)


def test_every_kind_of_letter_is_valid_pdfa(preflight: Preflight, tmp_path: Path) -> None:
    files = []
    for kind in KINDS:
        letter = render(kind, "melding-om-tiltak", AT.date(), context(kind, "melding-om-tiltak"))
        files.append(tmp_path / f"{kind}.pdf")
        files[-1].write_bytes(pdfa(letter, "Kautokeino kommune – Guovdageainnu suohkan", AT))
    long = Letter("vedtak", "Vedtak – Áltá ŋ ŧ 😀", "Avsnitt med tekst. " * 900, date(2026, 3, 3))
    files.append(tmp_path / "long.pdf")
    files[-1].write_bytes(pdfa(long, "Oslo kommune", AT))
    spoiled = tmp_path / "spoiled.pdf"  # without its PDF/A identification
    spoiled.write_bytes(files[0].read_bytes().replace(b"pdfaid:part>1<", b"pdfaid:part>7<"))
    errors = preflight.errors([*files, spoiled], tmp_path)
    assert {name: found for name, found in errors.items() if name != "spoiled.pdf"} == {
        path.name: [] for path in files
    }
    assert errors["spoiled.pdf"], "the validator must catch a broken PDF/A"
