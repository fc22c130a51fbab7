"""Attachments (vedlegg) and missing documents (mangelbrev, fvl § 17): the attachments track of
the process. A unit of the ``Application`` aggregate: its rules here, its events recorded by the
aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain import deadlines
from domain.guards import SHA256_HEX, Guards
from domain.lifecycle import Status, local_date
from domain.services import Service
from domain.values import Attachment


class DocumentTrack(Guards):
    # recorded by the aggregate (domain.application)
    _attachment_added: Callable[..., None]
    _missing_documents_requested: Callable[..., None]
    _processing_resumed: Callable[..., None]

    def add_attachment(self, attachment: Attachment, at: datetime, service: Service) -> None:
        """A vedlegg: its metadata and where the bytes are stored, never the bytes themselves."""
        self._guard_attachment("add attachment", attachment, at, service)
        self._attachment_added(**attachment.as_record(), at=at)
        if self.status is Status.AWAITING_DOCUMENTS and not self._missing_requested():
            self._resume(at, service)

    def request_missing_documents(
        self, kinds: list[str], reason: str, at: datetime, service: Service
    ) -> None:
        """Ask for more documents; the decision clock stands until they arrive."""
        self._guard_document_request(kinds, at, service)
        self._missing_documents_requested(
            kinds=sorted(set(kinds)),
            reason=reason,
            at=at,
            respond_by=deadlines.documents_respond_by(local_date(at)),
        )

    def resume_processing(self, at: datetime, service: Service) -> None:
        """The case officer finds the application complete even without every requested kind."""
        self._guard("resume processing", at)
        self._resume(at, service)

    def _resume(self, at: datetime, service: Service) -> None:
        """The decision clock runs again, lengthened by the days it stood."""
        due = self._due_after_pause(local_date(at))
        self._processing_resumed(
            at=at, decision_due=due, deemed_granted_on=self._deemed_on(due, None, service)
        )

    def _missing_requested(self) -> list[str]:
        return sorted(set(self.requested_documents) - self.attachment_kinds)

    def _guard_attachment(
        self, step: str, attachment: Attachment, at: datetime, service: Service
    ) -> None:
        self._guard(step, at)
        self._guard_attachment_kinds(step, [attachment.kind], service)
        if attachment.size <= 0:
            raise self._refuse(
                step, "attachment-empty", "an attachment must have a size above 0 bytes"
            )
        if not SHA256_HEX.match(attachment.sha256):
            raise self._refuse(
                step, "attachment-checksum-malformed", "sha256 must be 64 lowercase hex digits"
            )
        if any(a["attachment_id"] == attachment.attachment_id for a in self.attachments):
            raise self._refuse(step, "attachment-already-added", "the attachment is already added")

    def _guard_document_request(self, kinds: list[str], at: datetime, service: Service) -> None:
        step = "request missing documents"
        self._guard(step, at)
        self._guard_decision_comes(step, service)  # a høringssvar is registered, not processed
        if not kinds:
            raise self._refuse(step, "no-document-kinds", "name at least one document kind")
        self._guard_attachment_kinds(step, kinds, service)
