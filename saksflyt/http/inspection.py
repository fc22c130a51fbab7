"""What an upload is, read by maintained parsers, not by its first bytes.

A PDF is opened with pikepdf (qpdf): one that does not parse, is encrypted, has anything after
its last ``%%EOF`` (an executable glued on), or carries active content — JavaScript, a launch
action, embedded files — is refused. An image is decoded whole with Pillow: one that does not
decode (a JPEG header followed by a script), has bytes after its end, or would decode to more
than ``MAX_PIXELS`` is refused. What is not checked: whether a PDF's text or an image's pixels
say what the applicant says they do, and malware inside formats a PDF may quote as plain data.
"""

from __future__ import annotations

import io
import warnings

import pikepdf
from PIL import Image

from saksflyt.http.problems import ApiProblem

MAX_PIXELS = 50_000_000  # a scanned A4 page at 600 dpi is 35 million
ACTIVE = {
    "/JavaScript": "JavaScript",
    "/JS": "JavaScript",
    "/Launch": "a launch action",
    "/EmbeddedFiles": "embedded files",
    "/EmbeddedFile": "embedded files",
    "/FileAttachment": "a file attachment",
    "/RichMedia": "rich media",
    "/XFA": "an XFA form",
    "/EF": "embedded files",
}
TAIL_ALLOWED = b" \t\r\n\x00"


def refuse(code: str, detail: str) -> ApiProblem:
    return ApiProblem(422, code, detail)


def check(plain: bytes, media_type: str) -> None:
    """Refuse (422 with a rule) what is not a plain document of its type."""
    if media_type == "application/pdf":
        _check_pdf(plain)
    else:
        _check_image(plain, media_type)


def _check_pdf(plain: bytes) -> None:
    end = plain.rfind(b"%%EOF")
    if end < 0 or plain[end + 5 :].strip(TAIL_ALLOWED):
        raise refuse("attachment-not-a-plain-pdf", "the file has data after the PDF's end")
    try:
        with pikepdf.open(io.BytesIO(plain)) as pdf:
            if pdf.is_encrypted:
                raise refuse("attachment-encrypted", "an encrypted PDF cannot be archived")
            found = _active(pdf)
    except pikepdf.PdfError:
        raise refuse("attachment-unreadable", "the PDF cannot be read") from None
    except pikepdf.PasswordError:
        raise refuse("attachment-encrypted", "the PDF needs a password") from None
    if found:
        raise refuse("attachment-active-content", f"the PDF carries {found}: not accepted")


def _active(pdf: pikepdf.Pdf) -> str | None:
    """The first active thing the document names anywhere (keys, action and annotation types,
    in direct and indirect objects alike), or None."""
    seen: set[tuple[int, int]] = set()
    todo: list[object] = [pdf.trailer]
    while todo:
        obj = todo.pop()
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            for key in obj.keys():  # noqa: SIM118 (a pikepdf Stream has keys(), no iteration)
                value = obj.get(key)
                named = str(value) if isinstance(value, pikepdf.Name) else ""
                for name in (key, named):
                    if name in ACTIVE:
                        return ACTIVE[name]
                todo.append(value)
        elif isinstance(obj, pikepdf.Array):
            todo.extend(obj)
    return None


def _check_image(plain: bytes, media_type: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(plain)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise refuse("attachment-too-many-pixels", f"more than {MAX_PIXELS} pixels")
                expected = {"image/jpeg": "JPEG", "image/png": "PNG"}[media_type]
                if image.format != expected:
                    raise refuse("attachment-unreadable", f"not a {expected} image")
                image.load()  # decode every pixel: a truncated or forged body fails here
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning):  # fmt: skip
            raise refuse("attachment-unreadable", "the image cannot be decoded") from None
    end = plain.rfind(b"IEND") + 8  # the last chunk's type and its CRC
    if media_type == "image/png" and (end < 8 or plain[end:].strip(TAIL_ALLOWED)):
        raise refuse("attachment-not-a-plain-image", "the file has data after the image's end")
    if media_type == "image/jpeg" and plain.rstrip(TAIL_ALLOWED)[-2:] != b"\xff\xd9":
        raise refuse("attachment-not-a-plain-image", "the file has data after the image's end")
