"""The attachment store: bytes arrive in ``incoming/``, and are kept only once their case took them.

An upload streams into ``incoming/`` while it is hashed and size-checked; its type is read from
its first bytes (PDF, JPEG and PNG only — the declared media type must agree). The file moves to
its place (named by SHA-256) only after the ``AddAttachment`` command was accepted; a refused
upload is deleted. A crash in between leaves a file in ``incoming/``, which ``sweep`` removes, as
it removes stored files no event refers to.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from uuid import uuid4

import filetype

from domain.casework import Casework
from saksflyt.http.problems import ApiProblem

ALLOWED_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
CHUNK = 1 << 16
SNIFF_BYTES = 262  # what filetype needs to tell PDF, JPEG and PNG apart
ATTACHMENT_ADDED = "saksflyt.application.attachment-added"


@dataclass(frozen=True)
class Incoming:
    path: Path
    sha256: str
    size: int
    media_type: str  # as read from the bytes


@dataclass
class Swept:
    incoming: int = 0  # half-finished uploads
    unreferenced: int = 0  # stored files no attachment refers to


class DocumentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.incoming = directory / "incoming"

    def receive(self, stream: BinaryIO, declared: str | None, limit: int) -> Incoming:
        """Stream an upload into ``incoming/``; refuse it if too large, empty or not allowed."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        path = self.incoming / uuid4().hex
        try:
            return self._receive(stream, declared, limit, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _receive(self, stream: BinaryIO, declared: str | None, limit: int, path: Path) -> Incoming:
        digest, size, head = hashlib.sha256(), 0, b""
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApiProblem(413, "attachment-too-large", f"larger than {limit} bytes")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ApiProblem(422, "attachment-empty", "the attachment is empty")
        found = filetype.guess_mime(head)
        if found not in ALLOWED_TYPES:
            raise ApiProblem(
                415, "media-type-not-accepted", f"the bytes are not one of {sorted(ALLOWED_TYPES)}"
            )
        if declared != found:
            raise ApiProblem(
                415, "media-type-mismatch", f"declared {declared!r}, but the bytes are {found}"
            )
        return Incoming(path, digest.hexdigest(), size, found)

    def path_of(self, sha256: str) -> Path:
        return self.directory / sha256

    def keep(self, upload: Incoming) -> None:
        """The case took it: move it into place (the same bytes may be there already)."""
        os.replace(upload.path, self.path_of(upload.sha256))

    def discard(self, upload: Incoming) -> None:
        upload.path.unlink(missing_ok=True)

    def sweep(self, referenced: Iterable[str] | None, older_than_s: float = 3600.0) -> Swept:
        """Remove half-finished uploads older than ``older_than_s``; with ``referenced``, also
        the stored files no attachment refers to."""
        swept, cutoff = Swept(), time.time() - older_than_s
        for path in self.incoming.glob("*") if self.incoming.is_dir() else []:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                swept.incoming += 1
        if referenced is None:
            return swept
        keep = set(referenced)
        for path in self.directory.glob("*") if self.directory.is_dir() else []:
            if path.is_file() and path.name not in keep and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                swept.unreferenced += 1
        return swept


def referenced_documents(app: Casework, batch: int = 1000) -> set[str]:
    """The SHA-256 of every attachment any stored event refers to."""
    found: set[str] = set()
    position = 0
    while notifications := app.recorder.select_notifications(start=position + 1, limit=batch):
        for notification in notifications:
            if notification.topic == ATTACHMENT_ADDED:
                found.add(app.mapper.to_domain_event(notification).sha256)  # type: ignore[attr-defined]
        position = notifications[-1].id
    return found
