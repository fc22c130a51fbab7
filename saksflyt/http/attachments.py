"""Attachment upload: the bytes go to the document store, the event records only their metadata.

The upload and its command are one unit: the file is kept only if the case took the attachment.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from domain import commands as cmd
from domain.values import Attachment
from saksflyt.access.policy import Permission as P
from saksflyt.http import models as m
from saksflyt.http.auth import CaseCaller, permit_case
from saksflyt.http.commands import Key, Result, command_ids, run
from saksflyt.http.problems import ApiProblem
from saksflyt.http.services import services

router = APIRouter(
    tags=["commands"], responses=m.problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 507)
)


@router.post(
    "/applications/{case_id}/attachments",
    status_code=201,
    response_model=m.AttachmentResult,
    summary="Upload an attachment (vedlegg): PDF, JPEG or PNG, as the bytes say",
)
def upload_attachment(
    case_id: UUID,
    request: Request,
    kind: Annotated[str, Form(min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$")],
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")],
    c: Annotated[CaseCaller, permit_case(P.FILE, P.ACT)],
    key: Key = None,
) -> Result:
    s = services(request)  # an unknown case was answered 404 before anything was kept
    held = s.app.get_case(case_id).attachments
    if len(held) >= s.settings.max_attachments_per_case:
        raise ApiProblem(
            409,
            "too-many-attachments",
            f"a case takes at most {s.settings.max_attachments_per_case} attachments",
        )
    room = s.settings.max_case_attachment_bytes - sum(int(a["size"]) for a in held)
    limit = min(s.settings.max_attachment_bytes, room)
    if limit <= 0:
        raise ApiProblem(413, "case-attachments-too-large", "the case's attachments are full")
    upload = s.documents.receive(case_id, file.file, file.content_type, limit)
    try:
        # With an Idempotency-Key the attachment id derives from it: a resend answers the same id.
        attachment_id = uuid5(key, "attachment") if key else uuid4()
        attachment = Attachment(
            attachment_id,
            kind,
            upload.media_type,
            upload.size,
            upload.sha256,
            upload.storage_ref,
        )
        command = cmd.AddAttachment(
            **command_ids(request, case_id, key, c.who), attachment=attachment
        )
        body = {"kind": kind, "sha256": upload.sha256, "size": upload.size}
        extra = {"attachment_id": str(attachment_id), **body}
        result = run(request, key, body, command, extra)
    except BaseException:
        s.documents.discard(upload)
        raise
    refused_before = isinstance(result, Response) and result.status_code >= 400
    s.documents.discard(upload) if refused_before else s.documents.keep(upload)
    return result
