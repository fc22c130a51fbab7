"""Attachment upload: the bytes go to the document store, the event records only their metadata."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, File, Form, Header, HTTPException, Request, UploadFile
from pydantic import AwareDatetime

from domain import commands as cmd
from domain.values import Attachment
from saksflyt.http import models as m
from saksflyt.http.commands import command_ids, run
from saksflyt.http.services import services

router = APIRouter(tags=["commands"])
ALLOWED_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
CHUNK = 1 << 16


def _store(upload: UploadFile, directory: Path, limit: int) -> tuple[str, int]:
    """Stream to a temporary file while hashing; refuse past the limit; keep by content hash."""
    directory.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=directory, delete=False) as tmp:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                Path(tmp.name).unlink()
                raise HTTPException(413, f"attachment is larger than {limit} bytes")
            digest.update(chunk)
            tmp.write(chunk)
    if size == 0:
        Path(tmp.name).unlink()
        raise HTTPException(422, "attachment is empty")
    target = directory / digest.hexdigest()
    Path(tmp.name).replace(target)
    return digest.hexdigest(), size


@router.post(
    "/applications/{case_id}/attachments",
    status_code=201,
    response_model=m.AttachmentResult,
    summary="Upload an attachment (vedlegg)",
)
def upload_attachment(
    case_id: UUID,
    request: Request,
    kind: Annotated[str, Form(min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$")],
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")],
    key: Annotated[UUID | None, Header(alias="Idempotency-Key")] = None,
    at: Annotated[AwareDatetime | None, Form(description="business time; default now")] = None,
) -> dict[str, Any]:
    s = services(request)
    if file.content_type not in ALLOWED_TYPES:
        raise HTTPException(
            415,
            f"media type {file.content_type!r} not accepted; use one of {sorted(ALLOWED_TYPES)}",
        )
    s.app.get_case(case_id)  # 404 before storing anything for an unknown case
    sha256, size = _store(file, s.settings.document_dir, s.settings.max_attachment_bytes)
    # With an Idempotency-Key the attachment id derives from it: a resend answers the same id.
    attachment_id = uuid5(key, "attachment") if key else uuid4()
    attachment = Attachment(
        attachment_id, kind, file.content_type, size, sha256, storage_ref=f"sha256:{sha256}"
    )
    ids = command_ids(case_id, key, at)
    result = run(request, cmd.AddAttachment(**ids, attachment=attachment))
    return {**result, "attachment_id": attachment_id, "sha256": sha256, "size": size}
