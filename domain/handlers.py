"""What each command does to its case: load (or create) it, call the aggregate, hand it back.

A handler never saves: ``Casework.handle`` saves the case together with the command id in one
transaction. ``HANDLERS`` is the dispatch table, one entry per command type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain import commands as cmd
from domain.application import Application
from domain.errors import CaseAlreadyExists, InvalidTransition
from domain.lifecycle import local_date
from domain.places import Kommunenummer
from domain.services import Catalogue, RetentionAction, Service


class Cases(Protocol):
    """What a handler needs of the application: the catalogue and loading cases."""

    catalogue: Catalogue

    def get_case(self, case_id: UUID, version: int | None = None) -> Application: ...
    def exists(self, case_id: UUID) -> bool: ...


def service_of(cases: Cases, case: Application) -> Service:
    return cases.catalogue.service(case.service, case.kommunenummer)


def start_application(cases: Cases, c: cmd.StartApplication) -> Application:
    """Open a draft (optionally with a first mellomlagring)."""
    cases.catalogue.service(c.service, c.kommunenummer)
    Kommunenummer.parse(c.kommunenummer)
    if cases.exists(c.case_id):
        raise CaseAlreadyExists(c.case_id)
    case = Application(
        service=c.service, kommunenummer=c.kommunenummer, at=c.issued_at, id=c.case_id
    )
    if c.form:
        case.save_draft(c.form, c.issued_at)
    return case


def save_draft(cases: Cases, c: cmd.SaveDraft) -> Application:
    case = cases.get_case(c.case_id)
    case.save_draft(c.form, c.issued_at)
    return case


def add_attachment(cases: Cases, c: cmd.AddAttachment) -> Application:
    case = cases.get_case(c.case_id)
    case.add_attachment(c.attachment, c.issued_at, service_of(cases, case))
    return case


def submit_application(cases: Cases, c: cmd.SubmitApplication) -> Application:
    case = cases.get_case(c.case_id)
    case.submit(c.form, c.issued_at, service_of(cases, case))
    return case


def send_receipt(cases: Cases, c: cmd.SendReceipt) -> Application:
    case = cases.get_case(c.case_id)
    case.send_receipt(c.channel, c.message_id, c.issued_at, c.address)
    return case


def request_missing_documents(cases: Cases, c: cmd.RequestMissingDocuments) -> Application:
    case = cases.get_case(c.case_id)
    case.request_missing_documents(c.kinds, c.reason, c.issued_at, service_of(cases, case))
    return case


def resume_processing(cases: Cases, c: cmd.ResumeProcessing) -> Application:
    case = cases.get_case(c.case_id)
    case.resume_processing(c.issued_at)
    return case


def send_neighbour_notice(cases: Cases, c: cmd.SendNeighbourNotice) -> Application:
    case = cases.get_case(c.case_id)
    case.send_neighbour_notice(c.neighbours, c.issued_at, service_of(cases, case))
    return case


def record_neighbour_comment(cases: Cases, c: cmd.RecordNeighbourComment) -> Application:
    case = cases.get_case(c.case_id)
    case.record_neighbour_comment(c.neighbour, c.objection, c.issued_at)
    return case


def record_neighbour_consent(cases: Cases, c: cmd.RecordNeighbourConsent) -> Application:
    case = cases.get_case(c.case_id)
    case.record_neighbour_consent(c.neighbour, c.issued_at)
    return case


def send_preliminary_reply(cases: Cases, c: cmd.SendPreliminaryReply) -> Application:
    case = cases.get_case(c.case_id)
    case.send_preliminary_reply(c.reason, c.expected_by, c.issued_at)
    return case


def decide(cases: Cases, c: cmd.Decide) -> Application:
    case = cases.get_case(c.case_id)
    case.decide(c.decision, c.issued_at, service_of(cases, case))
    return case


def withdraw(cases: Cases, c: cmd.Withdraw) -> Application:
    case = cases.get_case(c.case_id)
    case.withdraw(c.reason, c.issued_at)
    return case


def archive(cases: Cases, c: cmd.Archive) -> Application:
    case = cases.get_case(c.case_id)
    case.archive(c.archive_reference, c.issued_at)
    return case


def shred(cases: Cases, c: cmd.Shred) -> Application:
    case = cases.get_case(c.case_id)
    case.shred(c.issued_at)
    return case


def apply_retention(cases: Cases, c: cmd.ApplyRetention) -> Application:
    case = cases.get_case(c.case_id)
    retention = service_of(cases, case).retention
    if not retention_due(case, retention.after_days, c.issued_at):
        raise InvalidTransition(
            case.id, case.status.value, "apply retention", "retention-not-due", "not due yet"
        )
    if retention.action is RetentionAction.ARCHIVE:
        case.archive(c.archive_reference, c.issued_at)
    else:
        case.shred(c.issued_at)
    return case


def retention_due(case: Application, after_days: int, at: datetime) -> bool:
    due = case.retention_due(after_days)
    return due is not None and local_date(at) >= due


Handler = Callable[[Cases, Any], Application]
HANDLERS: dict[type[cmd.Command], Handler] = {
    cmd.StartApplication: start_application,
    cmd.SaveDraft: save_draft,
    cmd.AddAttachment: add_attachment,
    cmd.SubmitApplication: submit_application,
    cmd.SendReceipt: send_receipt,
    cmd.RequestMissingDocuments: request_missing_documents,
    cmd.ResumeProcessing: resume_processing,
    cmd.SendNeighbourNotice: send_neighbour_notice,
    cmd.RecordNeighbourComment: record_neighbour_comment,
    cmd.RecordNeighbourConsent: record_neighbour_consent,
    cmd.SendPreliminaryReply: send_preliminary_reply,
    cmd.Decide: decide,
    cmd.Withdraw: withdraw,
    cmd.Archive: archive,
    cmd.Shred: shred,
    cmd.ApplyRetention: apply_retention,
}
