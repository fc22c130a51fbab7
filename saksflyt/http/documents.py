"""The attachment store: each case's attachments, sealed with the case's own data key.

An upload is read into memory (never spooled to disk in clear) while it is hashed and
size-checked; its type is read from its first bytes (PDF, JPEG and PNG only — the declared media
type must agree), then the whole file is read by a parser (``inspection``: no active content in a
PDF, an image that decodes, nothing glued on). It is sealed with the case's data key and written
to ``<case>/incoming-…``; it moves to ``<case>/<sha256>`` only after the ``AddAttachment``
command was accepted, and a refused upload is deleted. A full disk answers 507 with
``Retry-After`` and leaves no partial file. Kassasjon deletes the case's folder (and its key).
``sweep`` removes what a crash left behind, and files no stored attachment refers to.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import UUID, uuid4

import filetype

from domain.casework import Casework
from saksflyt.http import inspection
from saksflyt.http.problems import ApiProblem


class Sealer(Protocol):
    def seal_bytes(self, case_id: UUID, plain: bytes) -> bytes: ...
    def open_bytes(self, case_id: UUID, sealed: bytes) -> bytes | None: ...


ALLOWED_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
SNIFF_BYTES = 262  # what filetype needs to tell PDF, JPEG and PNG apart
ATTACHMENT_ADDED = "saksflyt.application.attachment-added"
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})  # the disk or a quota is full
RETRY_AFTER_S = 30


@dataclass(frozen=True)
class Incoming:
    case_id: UUID
    path: Path
    sha256: str  # of the plain bytes (the archive's checksum)
    size: int
    media_type: str  # as read from the bytes

    @property
    def storage_ref(self) -> str:
        return f"{self.case_id}/{self.sha256}"


@dataclass
class Swept:
    incoming: int = 0  # half-finished uploads
    unreferenced: int = 0  # stored files no attachment refers to


class DocumentStore:
    def __init__(self, directory: Path, sealer: Sealer) -> None:
        self.directory, self.sealer = directory, sealer

    def receive(
        self, case_id: UUID, stream: BinaryIO, declared: str | None, limit: int
    ) -> Incoming:
        """Read an upload, check it, seal it into ``<case>/incoming-…``; refuse what is wrong."""
        plain = stream.read(limit + 1)
        if len(plain) > limit:
            raise ApiProblem(413, "attachment-too-large", f"larger than {limit} bytes")
        if not plain:
            raise ApiProblem(422, "attachment-empty", "the attachment is empty")
        found = filetype.guess_mime(plain[:SNIFF_BYTES])
        if found not in ALLOWED_TYPES:
            raise ApiProblem(
                415, "media-type-not-accepted", f"the bytes are not one of {sorted(ALLOWED_TYPES)}"
            )
        if declared != found:
            raise ApiProblem(
                415, "media-type-mismatch", f"declared {declared!r}, but the bytes are {found}"
            )
        inspection.check(plain, found)  # what it is, by a parser: not only its first bytes
        sealed = self.sealer.seal_bytes(case_id, plain)
        path = self.directory / str(case_id) / f"incoming-{uuid4().hex}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(sealed)
        except OSError as error:
            path.unlink(missing_ok=True)  # no half-written file left behind
            if error.errno in NO_ROOM:
                raise ApiProblem(
                    507,
                    "storage-full",
                    "the attachment store has no room now; send it again later",
                    {"Retry-After": str(RETRY_AFTER_S)},
                ) from error
            raise
        return Incoming(case_id, path, hashlib.sha256(plain).hexdigest(), len(plain), found)

    def path_of(self, storage_ref: str) -> Path:
        return self.directory / storage_ref

    def keep(self, upload: Incoming) -> None:
        """The case took it: move it into place (a resend may have put it there already)."""
        os.replace(upload.path, self.path_of(upload.storage_ref))

    def read(self, case_id: UUID, storage_ref: str) -> bytes | None:
        """The plain bytes; None once the case is erased."""
        path = self.path_of(storage_ref)
        return self.sealer.open_bytes(case_id, path.read_bytes()) if path.is_file() else None

    def discard(self, upload: Incoming) -> None:
        upload.path.unlink(missing_ok=True)

    def sweep(self, referenced: Iterable[str] | None, older_than_s: float = 3600.0) -> Swept:
        """Remove half-finished uploads older than ``older_than_s``; with ``referenced`` (storage
        references), also the stored files no attachment refers to."""
        swept, cutoff = Swept(), time.time() - older_than_s
        for path in self.directory.glob("*/incoming-*"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                swept.incoming += 1
        if referenced is None:
            return swept
        keep = set(referenced)
        for path in self.directory.glob("*/*"):
            name = f"{path.parent.name}/{path.name}"
            stored = path.is_file() and not path.name.startswith("incoming-")
            if stored and name not in keep and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                swept.unreferenced += 1
        return swept


def referenced_documents(app: Casework, batch: int = 1000) -> set[str]:
    """The storage reference of every attachment any stored event refers to."""
    found: set[str] = set()
    position = 0
    while notifications := app.recorder.select_notifications(start=position + 1, limit=batch):
        for notification in notifications:
            if notification.topic == ATTACHMENT_ADDED:
                event = app.mapper.to_domain_event(notification)
                found.add(str(event.storage_ref))  # type: ignore[attr-defined]
        position = notifications[-1].id
    return found
