"""Commands: what a backend service, a case officer or the HTTP API may ask of a case.

Each command is a typed, already-validated request; ``execute`` runs it against ``Casework``. The
Kafka intake and the HTTP API both build these, so one rule set answers both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import singledispatch
from typing import Any
from uuid import UUID

from domain.casework import Casework
from domain.lifecycle import Outcome


@dataclass(frozen=True, kw_only=True)
class Command:
    command_id: UUID
    case_id: UUID
    issued_at: datetime


@dataclass(frozen=True, kw_only=True)
class StartApplication(Command):
    service: str
    kommunenummer: str
    form: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SaveDraft(Command):
    form: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SubmitApplication(Command):
    form: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AddAttachment(Command):
    attachment_id: UUID
    kind: str
    media_type: str
    size: int
    sha256: str
    storage_ref: str


@dataclass(frozen=True, kw_only=True)
class SendNeighbourNotice(Command):
    neighbours: list[str]


@dataclass(frozen=True, kw_only=True)
class RecordNeighbourComment(Command):
    neighbour: str
    objection: bool


@dataclass(frozen=True, kw_only=True)
class RecordNeighbourConsent(Command):
    neighbour: str


@dataclass(frozen=True, kw_only=True)
class RequestMissingDocuments(Command):
    kinds: list[str]
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResumeProcessing(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class SendPreliminaryReply(Command):
    reason: str
    expected_by: date


@dataclass(frozen=True, kw_only=True)
class Decide(Command):
    outcome: Outcome
    legal_basis: str
    case_officer: str


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class Archive(Command):
    archive_reference: str


@dataclass(frozen=True, kw_only=True)
class Shred(Command):
    pass


@singledispatch
def execute(command: Command, app: Casework) -> None:
    raise TypeError(f"no handler for {type(command).__name__}")


@execute.register
def _(c: StartApplication, app: Casework) -> None:
    app.start_application(c.service, c.kommunenummer, c.issued_at, c.form or None, c.case_id)


@execute.register
def _(c: SaveDraft, app: Casework) -> None:
    app.save_draft(c.case_id, c.form, c.issued_at)


@execute.register
def _(c: SubmitApplication, app: Casework) -> None:
    app.submit_application(c.case_id, c.issued_at, c.form)


@execute.register
def _(c: AddAttachment, app: Casework) -> None:
    app.add_attachment(
        c.case_id,
        c.kind,
        c.media_type,
        c.size,
        c.sha256,
        c.storage_ref,
        c.issued_at,
        c.attachment_id,
    )


@execute.register
def _(c: SendNeighbourNotice, app: Casework) -> None:
    app.send_neighbour_notice(c.case_id, c.neighbours, c.issued_at)


@execute.register
def _(c: RecordNeighbourComment, app: Casework) -> None:
    app.record_neighbour_comment(c.case_id, c.neighbour, c.objection, c.issued_at)


@execute.register
def _(c: RecordNeighbourConsent, app: Casework) -> None:
    app.record_neighbour_consent(c.case_id, c.neighbour, c.issued_at)


@execute.register
def _(c: RequestMissingDocuments, app: Casework) -> None:
    app.request_missing_documents(c.case_id, c.kinds, c.reason, c.issued_at)


@execute.register
def _(c: ResumeProcessing, app: Casework) -> None:
    app.resume_processing(c.case_id, c.issued_at)


@execute.register
def _(c: SendPreliminaryReply, app: Casework) -> None:
    app.send_preliminary_reply(c.case_id, c.reason, c.expected_by, c.issued_at)


@execute.register
def _(c: Decide, app: Casework) -> None:
    app.decide(c.case_id, c.outcome, c.legal_basis, c.case_officer, c.issued_at)


@execute.register
def _(c: Withdraw, app: Casework) -> None:
    app.withdraw(c.case_id, c.reason, c.issued_at)


@execute.register
def _(c: Archive, app: Casework) -> None:
    app.archive(c.case_id, c.archive_reference, c.issued_at)


@execute.register
def _(c: Shred, app: Casework) -> None:
    app.shred(c.case_id, c.issued_at)
