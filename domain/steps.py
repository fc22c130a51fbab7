"""What each command does to the case it names: one step of the aggregate, at the time
``domain.timing.record_time`` chose, with the case's service as the municipality has it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import commands as cmd
from domain.application import Application
from domain.commands import Command
from domain.errors import InvalidTransition
from domain.lifecycle import local_date
from domain.services import RetentionAction, Service


def _apply_retention(
    case: Application, c: cmd.ApplyRetention, at: datetime, service: Service
) -> None:
    """Archive or shred a closed case once its service's retention says so."""
    due = case.retention_due(service)
    if due is None or local_date(at) < due:
        raise InvalidTransition(
            case.id, case.status.value, "apply retention", "retention-not-due", "not due yet"
        )
    action, _ = case.retention_decision(service)
    if action is RetentionAction.ARCHIVE:
        case.archive(c.archive_reference, at, service)
    else:
        case.shred(at, service)


Step = Callable[[Application, Any, datetime, Service], None]
STEPS: dict[type[Command], Step] = {
    cmd.SaveDraft: lambda case, c, at, _: case.save_draft(c.form, at),
    cmd.AddAttachment: lambda case, c, at, s: case.add_attachment(c.attachment, at, s),
    cmd.SendReceipt: lambda case, c, at, _: case.send_receipt(
        c.channel, c.message_id, at, c.address
    ),
    cmd.RecordMessage: lambda case, c, at, s: case.record_message(
        c.kind, c.channel, c.message_id, at, c.failure, c.attempts, c.address, s
    ),
    cmd.ExpireDraft: lambda case, c, at, _: case.expire_draft(c.after_days, at),
    cmd.DeemPermitGranted: lambda case, c, at, s: case.deem_granted(at, s),
    cmd.TakeUpContact: lambda case, c, at, s: case.take_up_contact(at, s),
    cmd.RecordSurvey: lambda case, c, at, s: case.record_survey(c.held_on, at, s),
    cmd.RequestConsultation: lambda case, c, at, s: case.request_consultation(c.party, at, s),
    cmd.RecordConsultationAnswer: lambda case, c, at, _: case.record_consultation_answer(
        c.party, c.objection, at
    ),
    cmd.ReceiveAppeal: lambda case, c, at, s: case.receive_appeal(
        c.received_on, at, s, c.sent_on, c.party
    ),
    cmd.ReviewAppeal: lambda case, c, at, s: case.review_appeal(c.decision, c.appeal_body, at, s),
    cmd.DismissAppeal: lambda case, c, at, s: case.dismiss_appeal(c.ground, c.by, at, s),
    cmd.RecordAppealResult: lambda case, c, at, s: case.record_appeal_result(
        c.result, at, s, c.decision
    ),
    cmd.RecordDecisionDelivery: lambda case, c, at, s: case.record_delivery(c.delivered_on, at, s),
    cmd.RequestMissingDocuments: lambda case, c, at, s: case.request_missing_documents(
        c.kinds, c.reason, at, s
    ),
    cmd.ResumeProcessing: lambda case, c, at, s: case.resume_processing(at, s),
    cmd.SendNeighbourNotice: lambda case, c, at, s: case.send_neighbour_notice(
        c.parties, at, s, c.neighbours
    ),
    cmd.RecordNeighbourComment: lambda case, c, at, s: case.record_neighbour_comment(
        c.neighbour, c.objection, at, s
    ),
    cmd.RecordNeighbourConsent: lambda case, c, at, _: case.record_neighbour_consent(
        c.neighbour, at
    ),
    cmd.SendPreliminaryReply: lambda case, c, at, s: case.send_preliminary_reply(
        c.reason, c.expected_by, at, s
    ),
    cmd.Decide: lambda case, c, at, s: case.decide(c.decision, at, s),
    cmd.Withdraw: lambda case, c, at, _: case.withdraw(c.reason, at),
    cmd.Archive: lambda case, c, at, s: case.archive(c.archive_reference, at, s, c.override_reason),
    cmd.Shred: lambda case, c, at, s: case.shred(at, s, c.override_reason),
    cmd.ApplyRetention: _apply_retention,
}
