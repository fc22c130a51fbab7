"""Uploads into the archive as PDF/A, with Ghostscript.

What an applicant uploads (PDF, JPEG or PNG: the formats the API accepts) is kept as received,
and the package carries it twice: as **Produksjonsformat** (the bytes as received, as the
document store holds them) and as **Arkivformat**, converted on the way in to PDF/A-1b (ISO
19005-1, the level the letters are written in; riksarkivarens forskrift kapittel 5 names PDF/A as an
archival format for text documents). Ghostscript's ``pdfwrite`` device does the conversion, with
an sRGB output intent (the ICC profile the letters use); an image becomes a one-page PDF first
(Pillow). A file Ghostscript cannot read (damaged, encrypted) is kept as received only, and the
package says so on its dokumentbeskrivelse.

Ghostscript is a Debian package (``apt-get install ghostscript``); an export without it stops
before it writes anything, saying so.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from saksflyt.letters.icc import srgb_v2

ACCEPTED = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
ARCHIVAL_FORMAT = "PDF/A-1b"
TIMEOUT_S = 120  # one upload; a larger one is kept as received
IMAGE_DPI = 150


class ConversionUnavailable(RuntimeError):
    """Ghostscript is not installed."""


class NotConverted(Exception):
    """This file could not be made PDF/A; the reason, for the package and the log."""


def ghostscript() -> str:
    found = shutil.which("gs")
    if found is None:
        raise ConversionUnavailable(
            "Ghostscript (gs) converts uploads to PDF/A for the archive: install it "
            "(apt-get install ghostscript) and export again"
        )
    return found


def _output_intent(folder: Path) -> Path:
    """A PostScript prologue that gives the document an sRGB output intent (pdfmark)."""
    profile = folder / "srgb.icc"
    profile.write_bytes(srgb_v2())
    prologue = folder / "intent.ps"
    prologue.write_text(
        f"/saksflytICC ({profile}) (r) file def\n"
        "[/_objdef {saksflyt_icc} /type /stream /OBJ pdfmark\n"
        "[{saksflyt_icc} << /N 3 >> /PUT pdfmark\n"
        "[{saksflyt_icc} saksflytICC /PUT pdfmark\n"
        "[/_objdef {saksflyt_intent} /type /dict /OBJ pdfmark\n"
        "[{saksflyt_intent} << /Type /OutputIntent /S /GTS_PDFA1\n"
        "  /DestOutputProfile {saksflyt_icc} /OutputConditionIdentifier (sRGB IEC61966-2.1)\n"
        "  /Info (sRGB IEC61966-2.1) >> /PUT pdfmark\n"
        "[{Catalog} << /OutputIntents [ {saksflyt_intent} ] >> /PUT pdfmark\n",
        encoding="ascii",
    )
    return prologue


def _as_pdf(content: bytes, media_type: str) -> bytes:
    if media_type == "application/pdf":
        return content
    try:
        with Image.open(io.BytesIO(content)) as image:
            page = io.BytesIO()
            image.convert("RGB").save(page, "PDF", resolution=IMAGE_DPI)
            return page.getvalue()
    except (OSError, ValueError) as error:
        raise NotConverted(f"the image could not be read: {type(error).__name__}") from None


def _reproducible() -> dict[str, str]:
    """The same file from the same upload (SOURCE_DATE_EPOCH fixes Ghostscript's dates), with
    the document information and the XMP metadata agreeing on them, as PDF/A asks (6.7.3)."""
    return {"PATH": os.environ.get("PATH", ""), "SOURCE_DATE_EPOCH": "0", "TZ": "UTC"}


def to_pdfa(content: bytes, media_type: str) -> bytes:
    """``content`` as PDF/A-1b; raises ``NotConverted`` with the reason when it cannot be."""
    if media_type not in ACCEPTED:
        raise NotConverted(f"{media_type} is not a format saksflyt accepts")
    gs = ghostscript()
    with tempfile.TemporaryDirectory(prefix="pdfa-") as tmp:
        folder = Path(tmp)
        source, target = folder / "in.pdf", folder / "out.pdf"
        source.write_bytes(_as_pdf(content, media_type))
        command = [
            gs,
            "-q",
            "-dPDFA=1",
            "-dBATCH",
            "-dNOPAUSE",
            "-dSAFER",
            "-dPDFSTOPONERROR",  # a damaged PDF is not converted, not turned into a blank page
            f"--permit-file-read={folder}/",
            "-dPDFACompatibilityPolicy=1",  # what PDF/A-1 forbids is left out, not refused
            "-sColorConversionStrategy=RGB",
            "-sProcessColorModel=DeviceRGB",
            "-sDEVICE=pdfwrite",
            f"-sOutputFile={target.name}",  # relative: the trailer's /ID is made from it
            str(_output_intent(folder)),
            source.name,
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
                env=_reproducible(),
                cwd=folder,
            )
        except subprocess.TimeoutExpired:
            raise NotConverted(f"Ghostscript took more than {TIMEOUT_S} s") from None
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1] or ["?"]
            raise NotConverted(f"Ghostscript could not read it ({said[0].strip()[:120]})")
        # Ghostscript writes UTC as "Z00'00'", which validators read as no zone at all and so
        # not the XMP's time; "+00'00'" says the same in as many bytes (offsets stay valid)
        return target.read_bytes().replace(b"Z00'00')", b"+00'00')")
