"""Uploads into the archive as PDF/A-1b with Ghostscript: valid by PDFBox Preflight, the same
bytes from the same upload, and a file Ghostscript cannot read refused with a reason (the
export then keeps it as received only)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from saksflyt.archive.conversion import NotConverted, to_pdfa
from saksflyt.demo import synthetic
from tests.pdfa import Preflight


def test_uploads_become_valid_pdfa_the_same_each_time(preflight: Preflight, tmp_path: Path) -> None:
    scan = io.BytesIO()
    Image.new("RGB", (300, 200), (240, 240, 230)).save(scan, "JPEG")
    made = {
        "pdf.pdf": to_pdfa(synthetic.pdf("a synthetic situasjonsplan"), "application/pdf"),
        "jpeg.pdf": to_pdfa(scan.getvalue(), "image/jpeg"),
    }
    for name, content in made.items():
        (tmp_path / name).write_bytes(content)
    assert preflight.errors([tmp_path / n for n in made], tmp_path) == {name: [] for name in made}
    assert (
        to_pdfa(synthetic.pdf("a synthetic situasjonsplan"), "application/pdf") == made["pdf.pdf"]
    )


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(b"%PDF-1.7\n% not really\n", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
     (b"GIF89a", "image/gif")],
)  # fmt: skip
def test_what_cannot_be_converted_is_said_why(content: bytes, media_type: str) -> None:
    with pytest.raises(NotConverted) as refused:
        to_pdfa(content, media_type)
    assert str(refused.value)
